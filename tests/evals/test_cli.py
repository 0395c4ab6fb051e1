"""The evaluation command's own checks, before any index is built."""

from evals.cli import main


def test_help_names_the_sets_and_recipes(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "--baseline" in out and "xquad-en" in out and "hybrid:raw" in out


def test_unknown_recipe_or_set_is_refused_before_any_work(tmp_path, capsys):
    assert main(["--configs", "hybird", "--sets", "news", "--out", str(tmp_path / "r")]) == 2
    assert "hybird" in capsys.readouterr().err and not (tmp_path / "r").exists()
