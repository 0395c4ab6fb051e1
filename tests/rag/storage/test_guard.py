"""Readers and one writer: the writer waits for readers inside and holds new ones back."""

import threading
import time

import pytest

from rag.storage.guard import Guard


def test_a_writer_excludes_readers_and_readers_share():
    g, log = Guard(), []
    both_in = threading.Barrier(3, timeout=10)  # passes only while both readers are inside together

    def reader(name):
        with g.reading():
            both_in.wait()
            time.sleep(0.2)
            log.append(f"{name} out")

    def writer():
        both_in.wait()
        with g.writing():
            log.append("write")

    threads = [threading.Thread(target=reader, args=(n,)) for n in ("a", "b")] + [threading.Thread(target=writer)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert log[-1] == "write" and len(log) == 3  # never while a reader is inside


def test_a_reader_cannot_turn_writer_on_its_own_thread():
    g = Guard()
    with g.reading(), pytest.raises(RuntimeError, match="cannot start writing"):
        with g.writing():
            pass
