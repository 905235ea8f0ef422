"""Lazy package exports: a package's public names resolve on first use, to the very objects of their submodules."""

from __future__ import annotations

import subprocess
import sys

import pytest

from metrics_utility.library import storage
from metrics_utility.library.lazy import lazy_exports

pytestmark = pytest.mark.unit


def test_every_export_of_the_lazy_packages_is_its_submodules_object():
    import importlib

    for package in ('storage', 'package', 'candlepin'):
        module = importlib.import_module(f'metrics_utility.library.{package}')
        for name in module.__all__:
            assert getattr(module, name) is getattr(importlib.import_module(module._WHERE[name], module.__name__), name)
        assert set(module.__all__) <= set(dir(module))


def test_an_unknown_name_is_an_attribute_error_so_hasattr_and_getattr_defaults_work():
    with pytest.raises(AttributeError) as raised:
        storage.StorageFloppy  # noqa: B018 - the lookup is the test
    assert str(raised.value) == "module 'metrics_utility.library.storage' has no attribute 'StorageFloppy'"
    assert not hasattr(storage, 'StorageFloppy')
    getattr_, _ = lazy_exports('metrics_utility.library.storage', {})
    with pytest.raises(AttributeError):
        getattr_('Storage')


def test_reading_the_storage_interface_does_not_load_s3_or_http_clients():
    code = (
        'import sys; from metrics_utility.library.storage import Storage, StorageDirectory; '
        "print(sorted(m for m in ('boto3', 'requests') if m in sys.modules)); "
        'from metrics_utility.library.storage import StorageS3; '
        "print(sorted(m for m in ('boto3', 'requests') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, check=True)
    assert done.stdout == "[]\n['boto3']\n"
