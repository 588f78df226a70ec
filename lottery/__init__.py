"""A provably fair daily lottery service."""

from importlib.metadata import PackageNotFoundError, version

try:
    # The one version string: pyproject.toml's, as installed.
    __version__ = version("lottery")
except PackageNotFoundError:  # a source tree that was never installed
    __version__ = "0.0.0+unknown"
