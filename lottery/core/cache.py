"""A Redis cache that degrades to misses when Redis is down.

The cache holds rate-limit counters and rendered closed draws: losing it for a while must
slow the service down, not break it (purchases, sign-in and reads keep working; rate
limits are not enforced until Redis is back).
"""

import logging
from typing import Any

from django.core.cache.backends.redis import RedisCache
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)


class ResilientRedisCache(RedisCache):
    def _degraded(self, operation: str, default: Any) -> Any:
        logger.warning("cache unavailable (%s): serving without it", operation)
        return default

    def get(self, key: Any, default: Any = None, version: Any = None) -> Any:
        try:
            return super().get(key, default, version)
        except RedisError:
            return self._degraded("get", default)

    def set(self, key: Any, value: Any, timeout: Any = None, version: Any = None, **kwargs: Any) -> None:
        try:
            super().set(key, value, timeout, version)
        except RedisError:
            self._degraded("set", None)

    def add(self, key: Any, value: Any, timeout: Any = None, version: Any = None, **kwargs: Any) -> bool:
        try:
            return bool(super().add(key, value, timeout, version))
        except RedisError:
            return bool(self._degraded("add", False))

    def incr(self, key: Any, delta: int = 1, version: Any = None) -> int:
        try:
            return int(super().incr(key, delta, version))
        except RedisError:
            return int(self._degraded("incr", 0))  # a rate-limit counter reads as unused

    def delete(self, key: Any, version: Any = None) -> bool:
        try:
            return bool(super().delete(key, version))
        except RedisError:
            return bool(self._degraded("delete", False))
