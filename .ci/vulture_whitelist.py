# ruff: noqa
"""Names vulture (the unused-code check in .ci/run, settings in pyproject.toml [tool.vulture])
reports but that are used where it cannot see: by name through a registry, by Mesa or pydantic,
by users and dashboards reading an agent's or result's state, or by a protocol. Each line says
why. Anything new that vulture reports is dead code: remove it, or add it here with a reason."""

_ = object()

# mechanisms: found by scanning sim/mechanisms (sim.mechanisms.registry)
Campaigns, DualDispatch, MainCoHandling, OnSiteHandback, Recurrence, Supervision
_.supervised                    # supervision's count, read by its test and by users
# kernel views: Protocol types documenting what the kernel calls on agents and what agents see
DepartmentView, CitizenView, CitizenContext
# entity state read by the case table, dashboards and tests (sim.records, sim.dashboard)
_.redispatched, _.settled, _.role_name
# agents' state shown by the dashboard and read by users (the day plan of a grid worker)
_.utilization, _.patrol_hours, _.followup_hours, _.visit_hours_today
# assumptions table: read by docs generation and tests through the dataclass fields
_.applies, ASSUMED_EFFECTS
# demand profiles and survival fits: fields of result dataclasses (written to JSON reports,
# read by tests and users)
_.pooled_how, _.pooled_month, _.pooled_doy, _.season, _.loglik
# experiments: public API (sim.experiments lazy exports), PEP 562 module __dir__, a result field
read_runs, __dir__, _.sobol_s2
# dashboard: SolaraViz reads model_params by name; dashboard model state read by components
model_params, _._grid_of_problem, _.raw_scenario
# fontTools attributes set to configure the font subsetter
_.flavor, _.layout_features, _.notdef_outline, _.name_IDs
# context manager protocol (__exit__'s traceback argument)
tb
# result properties for users (sim.resources estimate, steady-state check, scenario schema)
_.peak_gib, _.change, _.growing, _.multi_department
# merged from issues 23-25: public constants (the kinds an assumption or a log column may
# have, listed for docs and users) and fields of the patterns' target records (read from YAML
# and shown in reports): for their owners to use or remove
KINDS, _.conversion, _.why_range, _.constrains
# planner's files (issue 26), dead as far as vulture sees: for their owner to remove or use
comparison_value, rows_equal, plain
# accounting's `cogov diff` (issue 23): documented in its module docstring as explain's source
# of default factors, not called yet: for its owner to use or remove
factor_groups
# merged from issue 27 (reliability): signal-handler and Dask-plugin signatures (protocols),
# sim.lifetime's helpers read by tests and users, backends' old name kept for callers
signum, frame, worker, registered, run_summary, _release
