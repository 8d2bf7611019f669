# One image for every LGSP process; docker-compose.yml picks the command.
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY gateway gateway
COPY adapters adapters
COPY schemas schemas
COPY mocks mocks
RUN pip install --no-cache-dir .
ENV LGSP_CONFIG=/config/lgsp.toml
ENTRYPOINT ["lgsp"]
