"""What the tasks report to OpenLineage and to Airflow's assets: the datasets, their counts, the asset events.

Only ``facets.py`` imports OpenLineage, and only the tasks' ``get_openlineage_facets_on_*`` methods
import it, which only the OpenLineage provider calls, so a deployment without it pays nothing. A DAG
file may import ``assets.zendesk_asset`` to name an outlet or a schedule; the operators import the rest
when a task runs.
"""
