from django.db import migrations, models

CHOICES = [("pending", "Capture pending"), ("failed", "Capture failed"), ("captured", "Captured")]


class Migration(migrations.Migration):
    dependencies = [
        ("payments", "0002_order_receipt_rebuilt_from_rows"),
    ]

    operations = [
        # Orders written before this field existed were captured right after their commit
        # (a failure then surfaced as an error): they start as captured, new ones as pending.
        migrations.AddField(
            model_name="order",
            name="capture_status",
            field=models.CharField(choices=CHOICES, default="captured", max_length=8),
        ),
        migrations.AlterField(
            model_name="order",
            name="capture_status",
            field=models.CharField(choices=CHOICES, default="pending", max_length=8),
        ),
        migrations.AddIndex(
            model_name="order",
            index=models.Index(
                condition=models.Q(("capture_status__in", ["pending", "failed"])),
                fields=["created_at"],
                name="order_uncaptured",
            ),
        ),
    ]
