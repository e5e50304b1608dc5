"""A province-sized fleet on record, for the demo (``broadcaster demo --fleet N``) and the benchmarks: a province
of districts, communes and villages, ten clusters a village, each placed on the map near its commune.

These clusters have no receiver behind them: they are rows, so the dashboard's roll-up, its filters and the
map can be tried at a province's scale (they show as offline until something reports for them)."""

from __future__ import annotations

import math

from sqlalchemy import insert
from sqlalchemy.orm import Session

from broadcaster.db import Area, Device
from broadcaster.ops.bootstrap import ensure_area

PER_VILLAGE = 10
VILLAGES_PER_COMMUNE = 5
COMMUNES_PER_DISTRICT = 10
CENTRE = (16.05, 108.2)
"""Where the province's clusters are put on the map (WGS 84)."""


def seed_province(session: Session, clusters: int, name: str = "Tỉnh Mẫu", prefix: str = "loa") -> list[str]:
    """``clusters`` clusters (ids ``<prefix>-00001``...) in a new province ``name``; returns their ids in order.
    Already there (same name): nothing is added, and the ids it holds are returned."""
    existing = session.query(Area).filter_by(name=name, kind="province", parent_id=None).one_or_none()
    if existing is not None:
        return [d for (d,) in session.query(Device.id).filter(Device.id.like(f"{prefix}-%")).order_by(Device.id)]
    province = ensure_area(session, name, "province")
    villages_needed = max(1, math.ceil(clusters / PER_VILLAGE))
    communes_needed = math.ceil(villages_needed / VILLAGES_PER_COMMUNE)
    districts_needed = math.ceil(communes_needed / COMMUNES_PER_DISTRICT)
    villages: list[tuple[Area, tuple[float, float]]] = []
    for d in range(districts_needed):
        district = ensure_area(session, f"Huyện {d + 1}", "district", province)
        for c in range(min(COMMUNES_PER_DISTRICT, communes_needed - d * COMMUNES_PER_DISTRICT)):
            commune = ensure_area(session, f"Xã {d + 1}.{c + 1}", "commune", district)
            # Communes on a grid about 5 km apart; villages around their commune.
            n = d * COMMUNES_PER_DISTRICT + c
            centre = (CENTRE[0] + (n // 20 - 5) * 0.045, CENTRE[1] + (n % 20 - 10) * 0.045)
            for v in range(VILLAGES_PER_COMMUNE):
                if len(villages) == villages_needed:
                    break
                village = ensure_area(session, f"Thôn {d + 1}.{c + 1}.{v + 1}", "village", commune)
                angle = 2 * math.pi * v / VILLAGES_PER_COMMUNE
                villages.append((village, (centre[0] + 0.012 * math.sin(angle), centre[1] + 0.012 * math.cos(angle))))
    session.flush()
    ids = [f"{prefix}-{n + 1:05d}" for n in range(clusters)]
    rows = []
    for n, device_id in enumerate(ids):
        village, (lat, lon) = villages[n // PER_VILLAGE]
        k = n % PER_VILLAGE
        rows.append({"id": device_id, "name": f"Cụm loa {village.name.removeprefix('Thôn ')}-{k + 1}",
                     "village_id": village.id, "online": False, "lat": lat + 0.002 * (k % 4 - 1.5),
                     "lon": lon + 0.002 * (k // 4 - 1)})
    for start in range(0, len(rows), 1000):
        session.execute(insert(Device), rows[start:start + 1000])
    return ids
