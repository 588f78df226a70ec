from .errors import UserNotFound
from .models import User


def user_get(*, user_id: int) -> User:
    user = User.objects.filter(pk=user_id).first()
    if user is None:
        raise UserNotFound()
    return user
