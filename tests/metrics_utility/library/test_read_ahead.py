"""read_ahead: the same items in order, the producer one item ahead on another thread, errors and early stops."""

from __future__ import annotations

import threading

import pytest

from metrics_utility.library.read_ahead import read_ahead


def test_items_in_order_including_none():
    assert list(read_ahead([1, None, 'x', 0])) == [1, None, 'x', 0]
    assert list(read_ahead([])) == []


def test_next_item_is_produced_while_the_caller_holds_the_current_one():
    produced_ahead = threading.Event()
    threads = []

    def items():
        threads.append(threading.current_thread())
        yield 'first'
        produced_ahead.set()  # runs before the caller asks for the second item
        yield 'second'

    reader = read_ahead(items())
    assert next(reader) == 'first'
    assert produced_ahead.wait(timeout=30)
    assert next(reader) == 'second'
    assert threads[0] is not threading.current_thread()


def test_producer_error_is_raised_in_its_place():
    def items():
        yield 1
        yield 2
        raise ValueError('bad block')

    got = []
    with pytest.raises(ValueError, match='bad block'):
        for item in read_ahead(items()):
            got.append(item)
    assert got == [1, 2]


def test_early_stop_closes_the_producer_after_at_most_one_item_ahead():
    produced, closed = [], threading.Event()

    def items():
        try:
            for i in range(100):
                produced.append(i)
                yield i
        finally:
            closed.set()

    reader = read_ahead(items())
    assert next(reader) == 0
    reader.close()
    assert closed.is_set()
    assert produced == [0, 1]
