"""The planners' dashboard: `cogov dashboard [SCENARIO]` serves Mesa's SolaraViz page.

- `model`: `DashboardModel`, the governance model rebuilt from a base scenario plus levers;
- `controls`: the levers, derived from the scenario schema and the policy registries;
- `components`: the district map and the live charts (figure functions + solara components);
- `save`: "save as scenario" (a YAML file that `cogov validate` accepts);
- `app`: the page; `cli`: the `dashboard` subcommand.

Importing this package needs no solara; `app` and the components' solara parts do (the `viz`
extra). See docs/dashboard.md.
"""
