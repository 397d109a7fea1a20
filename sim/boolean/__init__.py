"""The Boolean formalism: .bnet networks (parsed, never eval-ed), exhaustive state-space analysis, and the mapping
of cafev conditions onto fixed nodes and MaBoSS rates."""
