"""Triggers: schedules and signed webhooks that start instances, once per fire.

* ``timing``: when a schedule fires (cron in a time zone through cronsim, intervals).
* ``firing``: the catch-up and overlap policies, as pure functions of a clock value.
* ``schedules`` / ``hooks``: store operations; firing is one transaction per batch.
* ``ticker``: the loop in each server that fires due schedules.
* ``api_schedules`` / ``api_hooks``: ``/v1/schedules`` and ``/v1/hooks``.
* the management client's methods for both are in ``runtara.client.triggers``.
"""
