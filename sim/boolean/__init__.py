"""The Boolean formalism: .bnet networks (parsed, never eval-ed), exhaustive state-space analysis, the mapping
of cafev conditions onto fixed nodes and MaBoSS rates, and whether its answers agree with the ODE model's."""
