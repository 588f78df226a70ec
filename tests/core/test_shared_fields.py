"""SharedFieldsSerializer: fields built once per class, validation still per instance."""

import threading

from rest_framework import serializers

from lottery.core.api import SharedFieldsSerializer


class _Card(SharedFieldsSerializer):
    cvc = serializers.RegexField(r"^[0-9]{3,4}$")


class _Order(SharedFieldsSerializer):
    quantity = serializers.IntegerField(min_value=1, max_value=1000)
    card = _Card()


GOOD = {"quantity": 3, "card": {"cvc": "123"}}
BAD = {"quantity": 0, "card": {"cvc": "12x"}}


def test_instances_share_one_set_of_fields():
    assert _Order(data=GOOD).fields is _Order(data=BAD).fields


def test_each_instance_keeps_its_own_data_and_errors():
    good, bad = _Order(data=GOOD), _Order(data=BAD)

    assert bad.is_valid() is False
    assert good.is_valid() is True

    assert good.validated_data == {"quantity": 3, "card": {"cvc": "123"}}
    assert set(bad.errors) == {"quantity", "card"} and set(bad.errors["card"]) == {"cvc"}
    assert good.errors == {}


def test_threads_validating_at_once_get_their_own_results():
    wrong: list[str] = []

    def validate(n: int) -> None:
        for i in range(300):
            quantity = 1 + (n * 300 + i) % 1000
            data = {"quantity": quantity, "card": {"cvc": "123" if i % 2 else "bad"}}
            serializer = _Order(data=data)
            valid = serializer.is_valid()
            if valid != bool(i % 2) or (valid and serializer.validated_data["quantity"] != quantity):
                wrong.append(f"thread {n}, item {i}: {serializer.errors or serializer.validated_data}")

    threads = [threading.Thread(target=validate, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert wrong == []
