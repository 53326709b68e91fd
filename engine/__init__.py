"""BPMN runtime on SpiffWorkflow: deploy, sandbox, instance store, task/timer projections, clock.

Knows nothing of Flask or of investment projects; the application plugs in through callables
(form validation, extra expression functions, listeners).
"""
