"""The package's layout: techniques side by side over shared layers, and no import circle.

Every import of every module is read from its source (function-local ones too, so an
import that a circle hides inside a function counts).
"""

import ast
import pathlib

PACKAGE = pathlib.Path(__file__).resolve().parents[1] / "style_transfer"
# Each technique's modules; everything else is a shared layer below them.
TECHNIQUES = {"gatys": {"gatys"}, "photo": {"photo"}, "semantic": {"semantic"},
              "compositing": {"compositing"},
              "cin": {"cin", "cin_network", "cin_inference", "cin_folders", "mixing_page",
                      "distribute"}}


def imports():
    """module -> the package's modules it imports."""
    graph = {}
    for path in PACKAGE.glob("*.py"):
        found = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module == "style_transfer":
                found |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                    "style_transfer."):
                found.add(node.module.split(".")[1])
            elif isinstance(node, ast.Import):
                found |= {a.name.split(".")[1] for a in node.names
                          if a.name.startswith("style_transfer.")}
        graph[path.stem] = found - {path.stem}
    return graph


def test_there_is_no_import_circle():
    graph, done, path = imports(), set(), []

    def visit(module):
        if module in path:
            raise AssertionError("import circle: " + " -> ".join(
                path[path.index(module):] + [module]))
        if module in done:
            return
        path.append(module)
        for imported in sorted(graph.get(module, ())):
            visit(imported)
        path.pop()
        done.add(module)
    for module in sorted(graph):
        visit(module)


def test_no_technique_imports_another():
    graph = imports()
    owner = {module: name for name, modules in TECHNIQUES.items() for module in modules}
    for module, imported in graph.items():
        if module not in owner:
            # A shared layer imports no technique (the package's __init__ names them lazily).
            assert module == "__init__" or not imported & set(owner), (module, imported)
            continue
        others = {m for m in imported if owner.get(m, owner[module]) != owner[module]}
        assert not others, f"{module} imports {sorted(others)} of another technique"


def test_the_technique_modules_are_all_listed():
    listed = set().union(*TECHNIQUES.values())
    assert listed <= {path.stem for path in PACKAGE.glob("*.py")}


def test_the_command_line_stays_thin():
    """The library is the product: cli.py holds flags, checks and exit codes only, and a
    script is one call into the library (figures.py, a set of recipes, is the exception)."""
    lines = lambda path: len(path.read_text().splitlines())
    assert lines(PACKAGE / "cli.py") <= 350
    scripts = PACKAGE.parent / "scripts"
    long = {path.name: lines(path) for path in scripts.glob("*.py")
            if path.name != "figures.py" and lines(path) > 150}
    assert not long, f"scripts over 150 lines: {long}"


def test_every_planted_bug_still_finds_its_line():
    """`make mutate` plants each bug of tests/mutations.txt by finding its line; a line
    that moved or changed would turn the bug into a "stale" report that tests nothing."""
    import sys
    sys.path.insert(0, str(PACKAGE.parent / "tests"))
    import mutate
    for what, file, find, replace, tests in mutate.mutations(PACKAGE.parent / "tests" /
                                                             "mutations.txt"):
        assert (PACKAGE.parent / file).read_text().count(find) == 1, what
        assert find != replace and all((PACKAGE.parent / test.split("::")[0]).is_file()
                                       for test in tests), what
