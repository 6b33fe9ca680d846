"""The engine's one door into Whoosh: the supported whoosh3 range, who may import Whoosh, and the
internals the adapter's fast paths rely on still being there (and agreeing with Whoosh's public API)."""

from __future__ import annotations

import ast
import tomllib
from importlib.metadata import version
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

from kms.search.engine import CURRENT_FILE, SearchEngine
from kms.search.engine import whoosh_adapter as wa

ROOT = Path(__file__).resolve().parents[2]
ENGINE = ROOT / "kms" / "search" / "engine"
ADAPTER = "kms/search/engine/whoosh_adapter.py"
# Whoosh's public extension points, which the schema and the analyzers are built from.
PUBLIC_WHOOSH = {
    "whoosh",
    "whoosh.analysis",
    "whoosh.columns",
    "whoosh.fields",
    "whoosh.formats",
    "whoosh.lang",
    "whoosh.lang.porter",
    "whoosh.system",
}
SCHEMA_MODULES = {"kms/search/schema.py", "kms/search/analysis.py"}


def declared_whoosh3() -> Requirement:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    found = [Requirement(line) for line in project["dependencies"] if Requirement(line).name == "whoosh3"]
    assert len(found) == 1, "pyproject.toml must declare whoosh3 exactly once"
    return found[0]


def test_the_installed_whoosh3_is_in_the_range_the_adapter_was_written_for():
    installed = Version(version("whoosh3"))
    declared = declared_whoosh3().specifier
    assert declared.contains(installed, prereleases=True), (
        f"whoosh3 {installed} is installed, but kms/search/engine/whoosh_adapter.py was written for "
        f"whoosh3{declared}. Check the adapter's use of Whoosh internals against this release (this "
        "file's other tests and tests/search/test_engine.py), then change the range in pyproject.toml."
    )


def test_the_declared_whoosh3_range_has_an_upper_bound():
    operators = {spec.operator for spec in declared_whoosh3().specifier}
    assert operators & {"<", "<=", "==", "~=", "==="}, (
        "whoosh3 needs an upper bound in pyproject.toml: an unchecked release could change the "
        "internals kms/search/engine/whoosh_adapter.py uses"
    )


def whoosh_imports(path: Path) -> set[str]:
    """The Whoosh modules a source file imports (``from whoosh import x`` counts as whoosh.x when
    x is a module)."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names if alias.name.split(".")[0] == "whoosh")
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "whoosh":
            out.add(node.module)
            if node.module == "whoosh":
                out.update(f"whoosh.{alias.name}" for alias in node.names)
    return out


def test_whoosh_internals_are_imported_only_by_the_adapter():
    offending = {}
    for path in sorted((ROOT / "kms").rglob("*.py")):
        relative = path.relative_to(ROOT).as_posix()
        imported = whoosh_imports(path)
        if relative == ADAPTER or not imported:
            continue
        allowed = PUBLIC_WHOOSH if relative in SCHEMA_MODULES else set()
        if imported - allowed:
            offending[relative] = sorted(imported - allowed)
    assert not offending, f"only {ADAPTER} may import these Whoosh modules: {offending}"


def test_only_the_adapter_reaches_into_other_objects_private_attributes():
    """Outside the adapter, engine code touches no ``x._name`` of an object that is not its own."""
    offending = []
    for path in sorted(ENGINE.glob("*.py")):
        if path.name == "whoosh_adapter.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Attribute)
                and node.attr.startswith("_")
                and not node.attr.startswith("__")
                and not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"))
            ):
                offending.append(f"{path.name}:{node.lineno} .{node.attr}")
    assert not offending, offending


# ---- the internals behind the adapter's fast paths


@pytest.fixture()
def leaf(tmp_path):
    """The one segment of a small index: three documents, one with a repeated phrase."""
    bodies = [
        "Refund the customer before the renewal call.",
        "The renewal call: refund policy, refund steps, then the renewal call again.",
        "Escalation path for enterprise customers.",
    ]
    docs = [
        {
            "id": f"article:{n}",
            "type": "article",
            "title": f"Doc {n}",
            "body": body,
            "visibility": "public",
            "updated": "2026-01-05T09:00:00+00:00",
        }
        for n, body in enumerate(bodies, 1)
    ]
    with SearchEngine(tmp_path / "ix", procs=1) as engine:
        engine.rebuild(docs)
        name = (tmp_path / "ix" / CURRENT_FILE).read_text().strip()
    top, readers, _ = wa.open_segment_readers(wa.open_index(tmp_path / "ix" / name), {})
    ((_, leaf_reader, _),) = wa.leaves(top)
    yield leaf_reader
    for _, reader in readers.values():
        reader.close()


def test_field_lengths_read_from_the_length_column_agree_with_whoosh(leaf):
    # The fast path (the codec's one-byte length column) must still exist, not the slow fallback.
    column = leaf._perdoc._cached_reader("_body_en_len", wa.LENGTHS_COLUMN)
    assert column._fixedlen == 1
    lengths = wa.field_lengths(leaf, "body_en")
    assert lengths == [leaf.doc_field_length(d, "body_en", 0) for d in range(leaf.doc_count_all())]
    assert lengths[1] > lengths[0] > 0


def test_postings_and_positions_read_in_blocks_agree_with_whoosh(leaf):
    matcher = leaf.postings("body_en", "refund")
    matcher = getattr(matcher, "child", matcher)
    for attribute in ("_read_ids", "_read_weights", "_read_values", "_next_block", "_lastblock", "_maxid"):
        assert hasattr(matcher, attribute), f"whoosh3's block matcher lost {attribute}"
    ids, weights, values = wa.postings(leaf, "body_en", "refund", values=True)
    stepping = leaf.postings("body_en", "refund")
    expected = []
    while stepping.is_active():
        expected.append((stepping.id(), stepping.weight()))
        stepping.next()
    assert list(zip(ids, weights, strict=True)) == expected == [(0, 1.0), (1, 2.0)]
    decode = wa.positions_decoder("body_en")
    assert [decode(v) for v in values] == [_positions_of(leaf, "body_en", "refund", d) for d in ids]
    positions = wa.positions(leaf, "body_en", "renew", [0, 1])
    assert positions == {d: _positions_of(leaf, "body_en", "renew", d) for d in (0, 1)}
    assert len(positions[1]) == 2


def _positions_of(leaf, fieldname, term, docnum):
    matcher = leaf.postings(fieldname, term)
    matcher.skip_to(docnum)
    return matcher.value_as("positions")


def _segment_contents(path):
    """Every posting list of the index in ``path``: (field, term) -> (doc frequency, postings with values)."""
    ix = wa.open_index(path)
    out = {}
    with ix.reader() as reader:
        for (fieldname, text), info in reader:
            if wa.S.SCHEMA[fieldname].format is None:
                continue
            term = text.decode("utf-8") if isinstance(text, bytes) else text
            ids, weights, values = wa.postings(reader.leaf_readers()[0][0], fieldname, term, values=True)
            out[(fieldname, term)] = (
                info.doc_frequency(),
                info.weight(),
                info.max_weight(),
                list(ids),
                list(weights),
                values,
            )
        stored = [reader.stored_fields(d) for d in range(reader.doc_count_all())]
        leaf = reader.leaf_readers()[0][0]
        lengths = {name: wa.field_lengths(leaf, name) for name in ("title_en", "body_en", "title_ac")}
    return out, stored, lengths


def test_a_build_worker_writes_the_same_postings_as_whoosh_own_writer(tmp_path):
    # The build workers hand whole blocks to Whoosh's codec instead of posting by posting: what
    # searches read back must be exactly what Whoosh's own writer stores, including lists longer
    # than one block (the codec's block size is 128).
    docs = [
        wa.S.prepare_document(
            {
                "id": f"doc:{n}",
                "title": f"Refund policy {n}",
                "visibility": "public",
                "tags": ["billing", f"t{n % 3}"],
                "body": ("refund the customer " * (n % 4 + 1))
                + f"within {n} days; escalate after {n % 7} tries",
            }
        )
        for n in range(300)
    ]
    built = {}
    for name, make in (("whoosh", _whoosh_segment), ("builder", _builder_segment)):
        path = tmp_path / name
        path.mkdir()
        wa.create_index(path)
        make(path, docs)
        built[name] = _segment_contents(path)
    assert built["builder"] == built["whoosh"]
    postings = built["builder"][0]
    assert postings[("body_en", "refund")][0] == 300 and len(postings[("body_en", "refund")][3]) == 300


def _whoosh_segment(path, docs):
    writer = wa.SegmentWriter(wa.open_index(path), codec=wa.index_codec())
    for fields_ in docs:
        writer.add_document(**fields_)
    writer.commit()


def _builder_segment(path, docs):
    builder = wa.SegmentBuilder(str(path), 64)
    for fields_ in docs:
        builder.add(fields_)
    wa.commit_segments(wa.open_index(path), builder.finish())


def test_opening_an_index_while_another_process_commits_is_retried(tmp_path, monkeypatch):
    # Another writer's commit can delete the table of contents an open has just listed (seen as a
    # FileNotFoundError in tests/search/test_engine.py's several-process writers on a busy machine).
    SearchEngine(tmp_path / "ix").close()
    path = tmp_path / "ix" / (tmp_path / "ix" / CURRENT_FILE).read_text().strip()
    real_read = wa.TOC.read
    failures = iter([FileNotFoundError(2, "No such file", "_MAIN_1.toc")])

    def read_after_a_race(*args, **kwargs):
        for failure in failures:
            raise failure
        return real_read(*args, **kwargs)

    monkeypatch.setattr(wa.TOC, "read", read_after_a_race)
    assert wa.index_doc_count(wa.open_index(path)) == 0
