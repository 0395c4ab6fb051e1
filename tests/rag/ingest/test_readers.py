import gzip
import json

from rag.ingest.readers import Article, Problem, read_paths


def _items(*paths):
    return list(read_paths(paths))


def test_seed_article_as_it_is(shared):
    [art] = _items(shared / "corpus" / "seed-article.txt")
    assert art.id == "seed-article.txt"
    assert art.source == "وكالة سبوتنيك الروسية"  # from its last line, "المصدر: …"
    assert art.title.startswith("صرّح نائب وزير الخارجية الروسي") and len(art.title) <= 91
    assert art.text.startswith("صرّح")


def test_front_matter_and_markdown_heading(tmp_path):
    (tmp_path / "a.md").write_text("---\ntitle: \"Hello\"\nsource: Reuters\ndate: 2018-08-01\nurl: http://x/y\n---\nBody text.\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.md").write_text("# Heading here\n\nSome body.\n")
    a, b = _items(tmp_path)
    assert (a.id, a.title, a.source, a.date, a.url, a.text) == ("a.md", "Hello", "Reuters", "2018-08-01", "http://x/y", "Body text.\n")
    assert (b.id, b.title) == ("sub/b.md", "Heading here")


def test_json_jsonl_and_gz_records(tmp_path):
    rec = {"id": "r1", "title": "T", "text": "نص.", "source": "bbc", "category": "sport", "author": "A"}
    (tmp_path / "one.json").write_text(json.dumps(rec))
    (tmp_path / "many.json").write_text(json.dumps([{"title": "x", "text": "y"}, {"title": "z", "text": "w"}]))
    with gzip.open(tmp_path / "c.jsonl.gz", "wt") as f:
        f.write(json.dumps({**rec, "id": "r2"}) + "\n\n" + json.dumps({"text": "بلا عنوان ولا معرف."}) + "\n")
    ids = [a.id for a in _items(tmp_path)]
    assert ids == ["r2", "c.jsonl.gz#3", "many.json#0", "many.json#1", "r1"]
    r2 = _items(tmp_path / "c.jsonl.gz")[0]
    assert (r2.source, r2.category, r2.author) == ("bbc", "sport", "A")


def test_bad_input_is_reported_with_file_and_line_and_the_rest_read(tmp_path):
    (tmp_path / "empty.txt").write_text("")
    (tmp_path / "latin1.txt").write_bytes("ok line\ncaf\xe9".encode("latin-1"))
    (tmp_path / "bin.md").write_bytes(b"\x89PNG\x00\x00\x01")
    (tmp_path / "x.jsonl").write_text(
        '{"id": "good1", "title": "t", "text": "نص سليم."}\n'
        '{"id": "broken", "text": \n'
        '{"id": "notext", "title": "t"}\n'
        '["a list"]\n'
        '{"id": "good2", "title": "t", "text": "نص آخر."}\n')
    (tmp_path / "badutf.jsonl").write_bytes(b'{"id": "u", "text": "\xff\xfe"}\n')
    items = _items(tmp_path)
    good = [i.id for i in items if isinstance(i, Article)]
    problems = {(p.file.split("/")[-1], p.line): p.message for p in items if isinstance(p, Problem)}
    assert good == ["good1", "good2"]
    assert problems[("empty.txt", 0)].startswith("empty file")
    assert problems[("latin1.txt", 2)].startswith("invalid UTF-8")
    assert "binary" in problems[("bin.md", 0)]
    assert problems[("x.jsonl", 2)].startswith("broken JSON")
    assert problems[("x.jsonl", 3)].startswith("record has no text")
    assert problems[("x.jsonl", 4)].startswith("expected a JSON object")
    assert problems[("badutf.jsonl", 1)].startswith("invalid UTF-8")
    assert str(Problem("f.jsonl", 3, "record has no text")) == "f.jsonl:3: record has no text"


def test_missing_and_unsupported_paths(tmp_path):
    (tmp_path / "img.png").write_bytes(b"x")
    missing, unsupported = _items(tmp_path / "nope.txt", tmp_path / "img.png")
    assert "no such file" in missing.message and "unsupported" in unsupported.message
    (tmp_path / "README.md").write_text("# About this folder\n")
    (tmp_path / ".hidden.txt").write_text("secret")
    assert _items(tmp_path) == []  # unsupported, hidden and README files in folders are not articles
    assert [a.id for a in _items(tmp_path / "README.md")] == ["README.md"]  # named explicitly: read


def test_content_hash_ignores_where_it_came_from():
    a = Article(id="x", title="t", text="b", origin="/a", line=1)
    b = Article(id="x", title="t", text="b", origin="/b", line=9)
    assert a.content_hash() == b.content_hash() != Article(id="x", title="t", text="c").content_hash()


def test_truncated_gzip_keeps_the_records_before_the_cut(tmp_path):
    from rag.ingest.indexer import _estimate

    lines = "".join(json.dumps({"id": f"r{i}", "title": "t", "text": "نص " * 400}) + "\n" for i in range(40))
    whole = gzip.compress(lines.encode())
    cut = tmp_path / "cut.jsonl.gz"
    cut.write_bytes(whole[: len(whole) * 2 // 3])
    items = _items(cut)
    articles = [x for x in items if isinstance(x, Article)]
    [problem] = [x for x in items if isinstance(x, Problem)]
    assert 5 < len(articles) < 40 and [a.id for a in articles] == [f"r{i}" for i in range(len(articles))]
    assert "cut short" in problem.message and problem.line == len(articles) + 1
    assert _estimate([cut], None) >= 0  # the progress bar's count does not abort the run


def test_a_fifo_or_a_link_loop_is_reported_not_waited_on(tmp_path):
    import os

    fifo = tmp_path / "pipe.jsonl"
    os.mkfifo(fifo)
    loop = tmp_path / "loop.jsonl"
    loop.symlink_to(loop)
    problems = {p.file.split("/")[-1]: p.message for p in _items(fifo, loop)}
    assert "not a regular file" in problems["pipe.jsonl"] and "no such file" in problems["loop.jsonl"]
