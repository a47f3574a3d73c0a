"""vitnotes: profile a paper's timm model and write the answers into an Obsidian note.

Importing this package must stay cheap: torch is imported only inside ``vitnotes.analysis``
(docs/DESIGN.md §2), so a cached re-fill never pays for it.
"""

__version__ = "0.1.0"
