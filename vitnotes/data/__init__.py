"""Small data files shipped with vitnotes and their torch-free readers."""
