"""Public evaluation sets from ``../shared/evals`` as (articles, questions).

Each set becomes articles in the project's JSONL record shape (so the real ingest path builds
the index) and questions with their gold article ids.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from rag.settings import Settings

SHARED = Settings().shared


@dataclass
class Question:
    id: str
    text: str
    lang: str  # question language
    doc_lang: str
    gold: list[str]
    answers: list[str]
    kind: str = "factoid"  # factoid, unanswerable, followup
    context: str = ""  # the previous question of a follow-up


@dataclass
class EvalSet:
    name: str
    articles: list[dict]  # records to index; or, for a user's own set, ``paths`` to ingest
    questions: list[Question]
    paths: list[str] = field(default_factory=list)


def _squad(path: Path):
    """(key, paragraph) pairs; the key is unique (ARCD repeats titles)."""
    for i, art in enumerate(json.loads(path.read_text(encoding="utf-8"))["data"]):
        for j, para in enumerate(art["paragraphs"]):
            yield f"{i}-{j}", para


def xquad(question_lang: str = "en", limit: int | None = None) -> EvalSet:
    """XQuAD: Arabic paragraphs as articles; questions in English or Arabic (parallel files)."""
    ar = list(_squad(SHARED / "evals" / "xquad" / "xquad.ar.json"))
    qs_src = ar if question_lang == "ar" else list(_squad(SHARED / "evals" / "xquad" / "xquad.en.json"))
    articles, questions = [], []
    for (key, para), (_, qpara) in zip(ar, qs_src):
        doc_id = f"xquad-{key}"
        articles.append({"id": doc_id, "title": "", "text": para["context"], "source": "xquad"})
        for qa_ar, qa in zip(para["qas"], qpara["qas"]):
            assert qa_ar["id"] == qa["id"], "XQuAD files must be parallel"
            questions.append(Question(qa["id"], qa["question"], question_lang, "ar", [doc_id],
                                      [a["text"] for a in qa_ar["answers"]]))
    return EvalSet(f"xquad-{question_lang}-ar", articles, questions[:limit] if limit else questions)


def arcd(limit: int | None = None) -> EvalSet:
    """ARCD: Arabic questions over Arabic Wikipedia paragraphs."""
    articles, questions = [], []
    for key, para in _squad(SHARED / "evals" / "arcd" / "arcd.json"):
        doc_id = f"arcd-{key}"
        articles.append({"id": doc_id, "title": "", "text": para["context"], "source": "arcd"})
        for qa in para["qas"]:
            questions.append(Question(qa["id"], qa["question"], "ar", "ar", [doc_id], [a["text"] for a in qa["answers"]]))
    return EvalSet("arcd-ar-ar", articles, questions[:limit] if limit else questions)


DISTRACTORS = 2000


def xquad_mix(question_lang: str = "en", limit: int | None = None, distractors: int = DISTRACTORS) -> EvalSet:
    """XQuAD's paragraphs hidden among ``distractors`` ANT news articles (evenly spread over the
    corpus, so every outlet and month is there): the same questions, a realistic haystack."""
    import gzip

    base = xquad(question_lang, limit)
    with gzip.open(SHARED / "corpus" / "ant-2018.jsonl.gz", "rt", encoding="utf-8") as fh:
        lines = fh.readlines()
    step = max(1, len(lines) // distractors)
    news_articles = []
    for line in lines[::step][:distractors]:
        rec = json.loads(line)
        news_articles.append({k: rec[k] for k in ("id", "title", "text", "source", "url", "date", "category")})
    return EvalSet(f"{base.name}-mix", base.articles + news_articles, base.questions)


SETS = {"xquad-en": lambda limit=None: xquad("en", limit), "xquad-ar": lambda limit=None: xquad("ar", limit),
        "arcd": arcd, "xquad-en-mix": lambda limit=None: xquad_mix("en", limit),
        "xquad-ar-mix": lambda limit=None: xquad_mix("ar", limit)}


NEWS_QA = Path(__file__).with_name("news-qa.jsonl")


def news(limit: int | None = None) -> EvalSet:
    """The project's own news QA set over ANT: its gold articles among every 100th ANT article.

    Questions keep their ``type`` (factoid, unanswerable, followup) and follow-ups their
    previous question in ``context``.
    """
    import gzip

    items = [json.loads(line) for line in NEWS_QA.read_text(encoding="utf-8").splitlines() if line.strip()]
    wanted = {g for q in items for g in q["gold"]}
    articles = []
    with gzip.open(SHARED / "corpus" / "ant-2018.jsonl.gz", "rt", encoding="utf-8") as fh:
        for i, line in enumerate(fh):
            rec = json.loads(line)
            if rec["id"] in wanted or i % 100 == 0:
                articles.append({k: rec[k] for k in ("id", "title", "text", "source", "url", "date", "category")})
    questions = [Question(q["id"], q["question"], q["lang"], "ar", q["gold"], [q["answer"]] if q["answer"] else [],
                          kind=q["type"], context=q.get("context", "")) for q in items]
    return EvalSet("news-ant", articles, questions[:limit] if limit else questions)


SETS["news"] = news

SEED = Path(__file__).parent.parent / "corpus" / "seed-article.txt"


def fresh(split: str = "report", limit: int | None = None) -> EvalSet:
    """The fresh news set (issue 17): questions written after the answer layer was built, over
    every 10th ANT article from the 6th (3,034 articles, none of the news set's) plus the seed.

    ``calibrate`` (50 questions) sets the abstention and check thresholds; ``report`` (80) is
    only ever reported on. Both read the same articles, so they share one cached index.
    """
    import gzip

    from rag.ingest.readers import read_file

    articles = []
    with gzip.open(SHARED / "corpus" / "ant-2018.jsonl.gz", "rt", encoding="utf-8") as fh:
        for i, line in enumerate(fh):
            if i % 10 == 5:
                rec = json.loads(line)
                articles.append({k: rec[k] for k in ("id", "title", "text", "source", "url", "date", "category")})
    seed = next(read_file(SEED, SEED.parent))
    articles.append({"id": seed.id, "title": seed.title, "text": seed.text, "source": seed.source})
    base = own(Path(__file__).with_name(f"fresh-{split}.jsonl"), [], limit)
    return EvalSet(f"fresh-{split}", articles, base.questions)  # one index for both (keyed by the articles)


SETS["fresh-calibrate"] = lambda limit=None: fresh("calibrate", limit)
SETS["fresh-report"] = lambda limit=None: fresh("report", limit)


def own(questions: Path, corpus: list[Path], limit: int | None = None) -> EvalSet:
    """A user's own set: ``questions`` is JSONL, one object a line with ``question`` and ``gold``
    (the ids of the articles that answer it; empty for an unanswerable question), and optionally
    ``id``, ``answer`` (a span the cited quotes should hold), ``answerable`` (default: gold is
    not empty), ``lang`` (default: detected) and ``context`` (the previous question of a
    follow-up). ``corpus`` is any files or folders ``rag ingest`` reads.

    >>> import tempfile; f = Path(tempfile.mkdtemp()) / "q.jsonl"
    >>> _ = f.write_text('{"question": "Who won?", "gold": ["a1"], "answer": "Ann"}\\n{"question": "Why?", "gold": []}\\n')
    >>> [(q.id, q.lang, q.kind, q.answers) for q in own(f, []).questions]
    [('q.jsonl#1', 'en', 'factoid', ['Ann']), ('q.jsonl#2', 'en', 'unanswerable', [])]
    """
    from rag.text import is_arabic

    items = []
    for lineno, line in enumerate(questions.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            q = json.loads(line)
            if not isinstance(q.get("question"), str) or not isinstance(q.get("gold"), list):
                raise ValueError("each line needs \"question\" (text) and \"gold\" (a list of article ids)")
        except (ValueError, AttributeError) as e:
            raise ValueError(f"{questions}:{lineno}: {e}") from None
        answerable = q.get("answerable", bool(q["gold"]))
        kind = "unanswerable" if not answerable else "followup" if q.get("context") else "factoid"
        items.append(Question(str(q.get("id") or f"{questions.name}#{lineno}"), q["question"],
                              q.get("lang") or ("ar" if is_arabic(q["question"]) else "en"), "any",
                              [str(g) for g in q["gold"]], [q["answer"]] if q.get("answer") else [], kind=kind,
                              context=q.get("context", "")))
    return EvalSet(f"own-{questions.stem}", [], items[:limit] if limit else items,
                   paths=[str(Path(p).resolve()) for p in corpus])
