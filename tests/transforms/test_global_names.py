"""transforms/global_names.py: the reads and writes of a name the function declares global and assigns become the
helpers that read and bind it in the module; other bindings of it are refused."""

import ast

import pytest
from s2s.transforms.global_names import rewrite_global_names


class Refused(Exception):
    pass


def _rewrite(source):
    tree = ast.parse(source).body[0]

    def refuse(node, why):
        raise Refused(why)

    written = rewrite_global_names(tree, lambda name: ast.Name(name, ast.Load()), refuse)
    return written, ast.unparse(tree)


def test_reads_and_writes_become_the_helpers_and_the_statement_goes():
    written, text = _rewrite("def f(x):\n    global n, scale\n    n = n + 1\n    total = 0\n    total += n\n"
                             "    return x * scale * (lambda v: v * n)(x)")
    assert written == {"n"}
    assert "set_global('n', global_value('n') + 1)" in text and "total += global_value('n')" in text
    assert "lambda v: v * global_value('n')" in text  # (an inner function's read of it is the global's too)
    assert "global n" not in text and "x * scale" in text


def test_a_name_declared_and_never_assigned_is_left_a_plain_read():
    written, text = _rewrite("def f(x):\n    global scale\n    return x * scale")
    assert written == set() and text == "def f(x):\n    return x * scale"


@pytest.mark.parametrize("body, why", [
    ("n, m = 1, 2", "bound another way"),
    ("for n in range(2):\n        pass", "bound another way"),
    ("n = m = 1", "several targets"),
    ("n = 1\n    g = lambda n: n", "binds a name the function declares global"),
    ("n = 1\n    y = [n for n in x]", "bound another way"),
])
def test_other_bindings_are_refused(body, why):
    with pytest.raises(Refused, match=why):
        _rewrite(f"def f(x):\n    global n\n    {body}\n    return x")


def test_an_augmented_update_of_an_item_is_not_a_binding():
    written, text = _rewrite("def f(x):\n    global n, table\n    n = 1\n    table[0] += x\n    return x")
    assert written == {"n"} and "table[0] += x" in text
