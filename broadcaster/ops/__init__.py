"""Operations: what sets a deployment or the demo up and keeps its broker in step. The broker's files and a
mosquitto for the demo and tests (``broker``), the embedded demo broker (``embedded_broker``), receivers'
credentials (``credentials``), first users and areas (``bootstrap``), and the demo itself (``demo``)."""
