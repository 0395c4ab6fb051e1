"""Small articles and index peeks shared by the storage, indexer and search tests."""

import json


def rec(i, text=None):
    return {"id": f"a{i}", "title": f"عنوان {i}", "source": "bbc", "date": "2018-03-0%d" % (i % 9 + 1),
            "text": text or f"هذا نص الخبر رقم {i}. وفيه جملة ثانية عن موضوع {i}؟"}


def write(path, recs, extra=""):
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in recs) + extra, encoding="utf-8")


def chunk_ids(ix):
    return sorted(ix.store.chunks.get(include=[])["ids"])


def sentence_ids(ix):
    return sorted(ix.store.sentences.get(include=[])["ids"])
