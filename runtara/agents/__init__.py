"""Agents: the integrations a workflow step runs (image-side, standard library only).

* ``runtara.agents.framework`` - ``agent()`` / ``.capability`` declare capabilities whose
  typed function signatures are the catalog entries.
* ``runtara.agents.catalog`` - ``catalog()``: built-in agents plus those installed
  through the ``runtara.agents`` entry point group.
* ``runtara.agents.invoke`` - ``invoke(agent_id, capability_id, inputs, connection=...,
  step_id=...)``: validates inputs and runs one capability (what generated code calls).
* ``runtara.agents.errors`` - AgentError, classified transient or permanent.
* ``runtara.agents.redaction`` - ``redact()`` keeps connection secrets out of events/logs.

Nothing is imported here, so ``import runtara.agents.<module>`` stays cheap.
"""
