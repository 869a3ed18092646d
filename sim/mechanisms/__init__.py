"""Mechanisms of the reform, each a module with one `sim.kernel.hooks.Mechanism` subclass,
registered under its `NAME` and switched on by its YAML key (`KEY`). The engine plugs in the
mechanisms a scenario's World wants (`wanted`), in hook order (`ORDER`); the registry
(`sim.mechanisms.registry`) finds them by scanning this package, and setup.py compiles every
module here with the kernel.

To add one: write `sim/mechanisms/<name>.py` (NAME, KEY, SUMMARY, ORDER, PARAMS, HOOKS and the
hooks) and its test; see docs/design.md ("A new mechanism")."""
