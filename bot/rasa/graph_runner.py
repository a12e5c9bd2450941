"""Run a Rasa model graph in-process, node after node, without dask's scheduler.

Rasa 3.6 runs every graph (one NLU parse and one prediction per bot action, i.e. about three per
turn) through ``dask.get``: it builds a dask task graph, orders it, and executes each node through
dask's synchronous scheduler. For a graph of ten nodes that bookkeeping costs about as much as the
NLU classifier itself (docs/benchmarks.md). :func:`run_graph` executes the same ``GraphNode``
objects with the same arguments (each node receives its dependencies' ``(node_name, output)``
tuples in the order of its ``needs``; inputs are ``(input_name, value)`` tuples) in a topological
order computed once per set of targets.

:func:`install` replaces ``DaskGraphRunner.run``; ``ORIGINAL_RUN`` keeps Rasa's for comparison.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence, Tuple

from rasa.engine.exceptions import GraphRunError
from rasa.engine.graph import GraphSchema
from rasa.engine.runner.dask import DaskGraphRunner

ORIGINAL_RUN = DaskGraphRunner.run

#: The plan of one (runner, targets) pair: nodes in execution order, each with its needs' names.
Plan = List[Tuple[str, Tuple[str, ...]]]


def execution_plan(schema: GraphSchema, targets: Sequence[str]) -> Plan:
    """Every node the targets depend on, dependencies first, in the schema's declaration order
    where the graph leaves a choice. Names that are not nodes (run inputs) are left to the caller."""
    minimal = schema.minimal_graph_schema(list(targets))
    nodes = minimal.nodes
    plan: Plan = []
    placed: set = set()

    def place(name: str) -> None:  # Rasa's schemas have no cycles (minimal_graph_schema would not end)
        if name in placed or name not in nodes:
            return
        needs = tuple(nodes[name].needs.values())
        for dependency in needs:
            place(dependency)
        placed.add(name)
        plan.append((name, needs))

    for name in nodes:
        place(name)
    return plan


def run_graph(self: DaskGraphRunner, inputs: Optional[Dict[str, Any]] = None,
              targets: Optional[List[str]] = None) -> Dict[str, Any]:
    """``DaskGraphRunner.run`` without dask: same nodes, same arguments, same result and errors."""
    run_targets = list(targets) if targets else self._graph_schema.target_names
    plans: Dict[Tuple[str, ...], Tuple[Plan, frozenset]] = self.__dict__.setdefault("_trulybot_plans", {})
    key = tuple(run_targets)
    if key not in plans:
        plan = execution_plan(self._graph_schema, run_targets)
        plans[key] = plan, frozenset(name for name, _ in plan)
    plan, node_names = plans[key]

    results: Dict[str, Any] = {}
    if inputs:
        for input_name, input_value in inputs.items():
            if isinstance(input_value, str) and (input_value in node_names or input_value in inputs):
                raise GraphRunError(
                    f"Input value '{input_value}' clashes with a node name. Make sure "
                    f"that none of the input names passed to the `run` method are the "
                    f"same as node names in the graph schema."
                )
            results[input_name] = (input_name, input_value)

    nodes = self._instantiated_nodes
    try:
        for name, needs in plan:
            # Like dask, a need that is neither a node nor an input is passed as the bare name.
            results[name] = nodes[name](*[results.get(dependency, dependency) for dependency in needs])
    except RuntimeError as error:
        raise GraphRunError("Error running runner.") from error
    return dict(results[target] for target in run_targets)


def install() -> None:
    """Make every ``DaskGraphRunner`` of this process run its graphs with :func:`run_graph`."""
    DaskGraphRunner.run = run_graph
