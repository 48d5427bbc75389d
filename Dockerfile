# The app's image: built from this repository with Maven, run on a JRE. Base images are pinned to exact versions.
FROM maven:3.9.9-eclipse-temurin-17 AS build
WORKDIR /src
# Dependencies first, in their own layer: a source change does not download them again.
COPY pom.xml .
RUN mvn -B -q dependency:go-offline
COPY src/main src/main
COPY topics topics
RUN mvn -B -q -Dmaven.test.skip=true -Dspotless.check.skip=true package

# Ubuntu-based (glibc), not Alpine: the offline engine's ONNX Runtime ships glibc native libraries.
FROM eclipse-temurin:17.0.13_11-jre-jammy
RUN useradd --system --uid 10001 --home-dir /app llmstreams && mkdir -p /data && chown llmstreams /data
WORKDIR /app
COPY --from=build /src/target/llm-streams.jar /app/llm-streams.jar
COPY --from=build /src/target/lib /app/lib
USER llmstreams
# Relative paths (the defaults under .llm-streams/) land in the writable /data, not in /app.
WORKDIR /data
# In a container the HTTP server must listen beyond loopback; state and native-library unpacking go to /data.
# Beyond loopback the app refuses to start without bearer tokens: mount a tokens file and set
# LLMSTREAMS_HTTP_AUTH_TOKENS_FILE (see docs/security.md), or set LLMSTREAMS_HTTP_AUTH=none explicitly when the
# network in front does the job (Compose does, publishing on the host's loopback only). The MCP server (/mcp),
# whose tools produce work, is off unless LLMSTREAMS_MCP_SERVER_ENABLED=true.
ENV LLMSTREAMS_HTTP_HOST=0.0.0.0 \
    LLMSTREAMS_MCP_SERVER_ENABLED=false \
    LLMSTREAMS_STATE_DIR=/data/state \
    JAVA_OPTS="-Xmx1g -Djava.io.tmpdir=/data"
EXPOSE 9400
# Other instances forward interactive queries to http.advertised.host: default it to this container's address.
ENTRYPOINT ["/bin/sh", "-c", ": \"${LLMSTREAMS_HTTP_ADVERTISED_HOST:=$(hostname -i | cut -d' ' -f1)}\"; export LLMSTREAMS_HTTP_ADVERTISED_HOST; exec java $JAVA_OPTS -jar /app/llm-streams.jar \"$@\"", "llm-streams"]
CMD ["run"]
