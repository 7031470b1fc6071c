# The Airflow image of docker-compose.yaml: the official image of the pinned Airflow version (requirements.in)
# with the project's pinned requirements installed. The project folders are mounted, not copied: edit the DAGs
# and the package on the host, the containers see the change.
ARG AIRFLOW_VERSION=3.3.2
ARG PYTHON_VERSION=3.11
FROM apache/airflow:${AIRFLOW_VERSION}-python${PYTHON_VERSION}

# requirements.txt is the full lock (make lock); it pins apache-airflow to the image's own version, so pip
# keeps the image's Airflow and adds the providers, dbt, Great Expectations and the models.
COPY --chown=airflow:root requirements.txt /opt/airflow/requirements.txt
RUN pip install --no-cache-dir -r /opt/airflow/requirements.txt
