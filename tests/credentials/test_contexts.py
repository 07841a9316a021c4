"""The bundled JSON-LD contexts: exactly the npm packages' contexts, and nothing else is loaded."""

from __future__ import annotations

import hashlib
import json

import pytest

from tests.credentials.conftest import Reference
from upskill.credentials import document_loader
from upskill.credentials.document_loader import CONTEXTS_DIR, ContextNotBundled

MANIFEST = json.loads((CONTEXTS_DIR / "manifest.json").read_text(encoding="utf-8"))


def test_every_bundled_file_matches_its_manifest_hash() -> None:
    files = {entry["file"] for entry in MANIFEST["contexts"]}
    assert files == {path.name for path in CONTEXTS_DIR.glob("*.json")} - {"manifest.json"}
    for entry in MANIFEST["contexts"]:
        data = (CONTEXTS_DIR / entry["file"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"], entry["file"]


def test_the_loader_serves_bundled_contexts_and_refuses_every_other_url() -> None:
    loaded = document_loader.load_document("https://www.w3.org/ns/credentials/v2")
    assert loaded["document"]["@context"]["@protected"] is True
    assert loaded["tag"] == "static"  # pyld caches the processed context
    for url in ("https://www.w3.org/2018/credentials/v1", "https://example.org/context.json",
                "file:///etc/passwd"):
        with pytest.raises(ContextNotBundled, match="never fetched"):
            document_loader.load_document(url)


@pytest.mark.slow
def test_bundled_contexts_are_the_npm_packages_contexts(reference: Reference) -> None:
    from_packages = reference.contexts()
    for entry in MANIFEST["contexts"]:
        bundled = json.loads((CONTEXTS_DIR / entry["file"]).read_text(encoding="utf-8"))
        assert bundled == from_packages["contexts"][entry["url"]], entry["url"]
        assert from_packages["packages"][entry["url"]] == {
            "name": entry["package"], "version": entry["version"]}
