"""Speech: text to an encoded, loudness-normalized asset. The normalizer reads numbers, dates and
abbreviations as words (``normalize``), a voice speaks them (``engines``, ``viettts``), ``audio`` adds the
chime and encodes Opus, ``render`` ties these together with the render cache, ``listening`` checks what a
machine understood, and ``voicefetch`` brings a voice's weights. Nothing here knows MQTT, Flask or the
database."""
