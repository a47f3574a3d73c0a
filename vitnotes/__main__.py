from vitnotes.cli import run

run()
