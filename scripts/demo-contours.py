#!/usr/bin/env python3
"""Build the demo's commune outlines and neighbouring communes.

Reads two git mirrors (no network):
  - gregoiredavid/france-geojson (IGN Admin Express COG 2018, Licence Ouverte):
    departements/{62-pas-de-calais,59-nord}/communes-*.geojson
  - datagouv/decoupage-administratif at v6.0.0 (COG 2026, Licence Ouverte):
    sources/communes.csv (current communes), sources/donnees_communes.csv
    (populations), the inputs of its data/communes.json.

Writes data/demo/contours.geojson (the communes of the demo territory and
every current commune whose outline's mean vertex lies within 30 km of the
mean vertex of a territory commune) and data/demo/communes-voisines.json
(those communes that data/demo/communes.json lacks, in its format).

Usage: python3 scripts/demo-contours.py GEOJSON_MIRROR DECOUPAGE_MIRROR
"""

import csv
import io
import json
import math
import subprocess
import sys

RADIUS_KM = 30.0
EPCI = "246200364"
DEPARTEMENTS = ["62-pas-de-calais", "59-nord"]


def show(repo, path):
    return subprocess.run(
        ["git", "-C", repo, "show", f"HEAD:{path}"], check=True, capture_output=True
    ).stdout.decode("utf-8")


def rings(geometry):
    if geometry["type"] == "Polygon":
        return geometry["coordinates"]
    return [r for poly in geometry["coordinates"] for r in poly]


def mean_point(geometry):
    pts = [p for r in rings(geometry) for p in r[:-1]]
    return (sum(p[0] for p in pts) / len(pts), sum(p[1] for p in pts) / len(pts))


def km(a, b):
    lon1, lat1, lon2, lat2 = map(math.radians, (a[0], a[1], b[0], b[1]))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin(
        (lon2 - lon1) / 2
    ) ** 2
    return 2 * 6371 * math.asin(math.sqrt(h))


def main(geo_repo, cog_repo):
    current = {}
    for row in csv.DictReader(io.StringIO(show(cog_repo, "sources/communes.csv"))):
        if row["TYPECOM"] == "COM":
            current[row["COM"]] = row
    population = {}
    for row in csv.DictReader(
        io.StringIO(show(cog_repo, "sources/donnees_communes.csv")), delimiter=";"
    ):
        population[row["COM"]] = int(row["PMUN"].replace(" ", ""))

    features = []
    for dep in DEPARTEMENTS:
        num = dep.split("-")[0]
        fc = json.loads(show(geo_repo, f"departements/{dep}/communes-{num}-{dep[len(num) + 1:]}.geojson"))
        features.extend(fc["features"])

    epci = next(e for e in json.load(open("data/demo/epci.json")) if e["code"] == EPCI)
    members = {m["code"] for m in epci["membres"]}
    points = {f["properties"]["code"]: mean_point(f["geometry"]) for f in features}
    inside = [points[c] for c in members if c in points]
    missing = sorted(members - points.keys())
    if missing:
        print("territory communes without an outline:", missing, file=sys.stderr)

    kept, dropped = [], []
    for f in features:
        code = f["properties"]["code"]
        near = code in members or min(km(points[code], p) for p in inside) <= RADIUS_KM
        if not near:
            continue
        if code not in current:
            dropped.append(f"{code} {f['properties']['nom']}")
            continue
        kept.append(
            {
                "type": "Feature",
                "properties": {"code": code, "nom": f["properties"]["nom"]},
                "geometry": f["geometry"],
            }
        )
    kept.sort(key=lambda f: f["properties"]["code"])
    with open("data/demo/contours.geojson", "w", encoding="utf-8") as out:
        out.write('{"type":"FeatureCollection","features":[\n')
        out.write(
            ",\n".join(json.dumps(f, ensure_ascii=False, separators=(",", ":")) for f in kept)
        )
        out.write("\n]}\n")

    known = {c["code"] for c in json.load(open("data/demo/communes.json"))}
    neighbours = []
    for f in kept:
        code = f["properties"]["code"]
        if code in known:
            continue
        row = current[code]
        neighbours.append(
            {
                "code": code,
                "nom": row["LIBELLE"],
                "typeLiaison": int(row["TNCC"]),
                "zone": "metro",
                "arrondissement": row["ARR"],
                "departement": row["DEP"],
                "region": row["REG"],
                "type": "commune-actuelle",
                "codesPostaux": [],
                "population": population.get(code),
            }
        )
    with open("data/demo/communes-voisines.json", "w", encoding="utf-8") as out:
        out.write("[\n")
        out.write(
            ",\n".join(json.dumps(c, ensure_ascii=False, separators=(",", ":")) for c in neighbours)
        )
        out.write("\n]\n")
    print(f"{len(kept)} outlines, {len(neighbours)} neighbouring communes", file=sys.stderr)
    print("left out (not a current commune):", ", ".join(dropped) or "none", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
