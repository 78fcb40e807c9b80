"""What the tasks report to OpenLineage and to Airflow's assets: the datasets, their counts, the asset events.

Nothing here is imported when a DAG file is parsed, and nothing here imports OpenLineage at load time:
the operators import these modules inside their ``get_openlineage_facets_on_*`` methods, which only the
OpenLineage provider calls, so a deployment without it pays nothing.
"""
