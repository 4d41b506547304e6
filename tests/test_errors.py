"""The error trees: one root host-side (``runtara.errors.Error``), one image-side
(``runtara.agents.errors.InstanceError``), every deliberate error under one of them,
listed where users look (``runtara.errors``), and no error class name defined twice."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

import runtara
from runtara import errors
from runtara.agents.errors import InstanceError

IMAGE_SIDE = ("runtara.sdk", "runtara.agents")
#: Control flow, not failures: BaseException so that no ``except Exception`` swallows them.
SIGNALS = {"WorkflowStopped", "WorkflowTimedOut"}
#: Raised and caught inside one module, never seen by a user.
INTERNAL = {"runtara.runtime.api.fastpath.ClientGone"}


def _exception_classes() -> list[type[BaseException]]:
    found: dict[str, type[BaseException]] = {}
    for info in pkgutil.walk_packages(runtara.__path__, "runtara."):
        if info.name.endswith("__main__"):
            continue
        module = importlib.import_module(info.name)
        for _, value in inspect.getmembers(module, inspect.isclass):
            if issubclass(value, BaseException) and value.__module__ == module.__name__:
                found[f"{value.__module__}.{value.__qualname__}"] = value
    return list(found.values())


CLASSES = _exception_classes()


def _public(cls: type) -> bool:
    qualified = f"{cls.__module__}.{cls.__qualname__}"
    return not cls.__name__.startswith("_") and qualified not in INTERNAL


def test_no_error_class_name_is_defined_twice() -> None:
    by_name: dict[str, list[str]] = {}
    for cls in CLASSES:
        if _public(cls):
            by_name.setdefault(cls.__name__, []).append(cls.__module__)
    assert {name: homes for name, homes in by_name.items() if len(homes) > 1} == {}


@pytest.mark.parametrize("cls", [c for c in CLASSES if _public(c)], ids=lambda c: c.__qualname__)
def test_every_deliberate_error_has_its_sides_root(cls: type[BaseException]) -> None:
    if cls.__module__.startswith(IMAGE_SIDE):
        if cls.__name__ in SIGNALS:
            assert not issubclass(cls, Exception)
        else:
            assert issubclass(cls, InstanceError)
            assert not issubclass(cls, errors.Error)
    else:
        assert issubclass(cls, errors.Error)
        assert not issubclass(cls, InstanceError)


def test_runtara_errors_lists_every_public_host_side_error() -> None:
    host = {c.__name__ for c in CLASSES if _public(c) and not c.__module__.startswith(IMAGE_SIDE)}
    assert host - set(errors.__all__) == set()
    doc = errors.__doc__ or ""
    assert [name for name in errors.__all__ if name not in doc] == []


@pytest.mark.parametrize("name", errors.__all__)
def test_each_listed_error_is_importable_from_runtara_errors(name: str) -> None:
    cls = getattr(errors, name)
    assert issubclass(cls, errors.Error)
    assert cls.__name__ == name


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="NoSuchError"):
        errors.NoSuchError  # noqa: B018


def test_names_users_import_still_work() -> None:
    from runtara.client import ApiError
    from runtara.runtime.errors import NotFound, RuntaraError
    from runtara.sdk import RuntaraError as SdkRoot

    assert issubclass(NotFound, RuntaraError) and RuntaraError is errors.ServiceError
    assert issubclass(ApiError, errors.Error)
    assert issubclass(SdkRoot, InstanceError)
