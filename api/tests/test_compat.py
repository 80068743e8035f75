"""Dependencies' internals are used in one module per dependency, which refuses versions it
was not written for with a message that says what to do."""

from __future__ import annotations

import re

import pytest

from llm_gateway.compat import require

from .support.paths import REPO_ROOT

SOURCE = REPO_ROOT / "api/src/llm_gateway"
WRAPPED = {
    "llama_cpp": "compat/llama_cpp.py",
    "uvicorn_worker": "compat/uvicorn_worker.py",
    "prometheus_client.values": "compat/prometheus.py",
}


def test_a_version_outside_the_range_is_refused_with_the_fix() -> None:
    require("dep", "0.3.16", (0, 3, 16), (0, 4, 0))
    with pytest.raises(ImportError) as info:
        require("dep", "0.4.1", (0, 3, 16), (0, 4, 0))
    message = str(info.value)
    assert "dep 0.4.1 is installed" in message
    assert ">=0.3.16,<0.4.0" in message
    assert "llm_gateway/compat/" in message


@pytest.mark.parametrize(("module", "owner"), sorted(WRAPPED.items()))
def test_only_the_compat_module_imports_the_dependency(module: str, owner: str) -> None:
    package, _, submodule = module.rpartition(".")
    importer = re.compile(
        rf"^\s*(from|import)\s+{re.escape(module)}\b"
        + (rf"|^\s*from\s+{re.escape(package)}\s+import\s+(.*\b)?{submodule}\b" if package else ""),
        re.MULTILINE,
    )
    offenders = [
        str(path.relative_to(SOURCE))
        for path in SOURCE.rglob("*.py")
        if importer.search(path.read_text()) and path.relative_to(SOURCE).as_posix() != owner
    ]
    assert not offenders


def test_no_private_attribute_of_a_dependency_is_used_outside_compat() -> None:
    private = re.compile(
        r"\b(llm|llama|model)\._[a-z]\w*|_internals|\._serve\b|_install_sigquit"
        # by name, through getattr/setattr/hasattr: `getattr(obj, "_private", ...)`
        r"|\b(get|set|has)attr\([^,()]+,\s*[\"']_\w+"
        r"|\bValueClass\._\w+"
    )
    offenders = [
        f"{path.relative_to(SOURCE)}: {match.group(0)}"
        for path in SOURCE.rglob("*.py")
        if "compat" not in path.parts
        for match in private.finditer(path.read_text())
    ]
    assert not offenders
