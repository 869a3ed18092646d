"""Mechanisms of the reform, each a module with one class, registered under the YAML key that
switches it on. The engine plugs in the mechanisms a scenario's World wants (`wanted`), in the
order of `REGISTRY` (which is the order their hooks run in).

To add one: write `sim/mechanisms/<name>.py` with a `sim.kernel.hooks.Mechanism` subclass
(NAME, KEY, SUMMARY, HOOKS, `wanted(world)`), add it to `REGISTRY` in
`sim.mechanisms.registry` and write its test; see docs/design.md."""
