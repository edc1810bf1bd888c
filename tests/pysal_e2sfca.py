#!/usr/bin/env python3
"""Independent check of Maillage's E2SFCA (domain::diagnosis::e2sfca) with
PySAL's `access` package (pip install access; it brings pandas and
geopandas). Called by tests/it/diagnosis_pysal.rs.

Reads on stdin:
  {"places": [{"code": "62498", "population": 31000.0}, ...],
   "supply": {"62498": 25.5, ...},
   "cost": [["origin", "destination", minutes], ...],
   "bands": [[10, 1], [20, 0.68], [30, 0.22]]}
and prints {"code": score, ...} on stdout.

Reconciled with Maillage's conventions, so that equal inputs give equal
outputs:
- scale: `access` returns A_i in supply per inhabitant; Maillage reports
  A_i x 10,000 (per 10,000 inhabitants): the script multiplies by 10,000;
- a place and itself: `access` only counts a commune's own people and
  supply through an (i, i) row of the cost matrix; Maillage always has it
  (0 min). Maillage's catchments carry it already; any missing one is added
  here with cost 0;
- bands: `weights.step_fn` gives the weight of the first threshold t <= k,
  0 beyond the last, like `Bands::weight`.
"""

import json
import sys
import warnings

import pandas as pd
from access import Access, weights


def main():
    data = json.load(sys.stdin)
    codes = [p["code"] for p in data["places"]]
    demand = pd.DataFrame(
        {"geoid": codes, "pop": [float(p["population"]) for p in data["places"]]}
    ).set_index("geoid")
    supply = pd.DataFrame(
        {"geoid": codes, "s": [float(data["supply"].get(c, 0.0)) for c in codes]}
    ).set_index("geoid")
    cost = pd.DataFrame(data["cost"], columns=["origin", "dest", "cost"])
    cost["cost"] = cost["cost"].astype(float)
    have_self = set(cost.loc[cost["origin"] == cost["dest"], "origin"])
    missing = [c for c in codes if c not in have_self]
    if missing:
        cost = pd.concat(
            [cost, pd.DataFrame({"origin": missing, "dest": missing, "cost": 0.0})],
            ignore_index=True,
        )
    steps = {float(m): float(w) for m, w in data["bands"]}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        acc = Access(
            demand_df=demand,
            demand_index=True,
            demand_value="pop",
            supply_df=supply,
            supply_index=True,
            supply_value="s",
            cost_df=cost,
            cost_origin="origin",
            cost_dest="dest",
            cost_name="cost",
        )
        result = acc.enhanced_two_stage_fca(weight_fn=weights.step_fn(steps))
    column = result.columns[0]
    out = {}
    for code, value in result[column].items():
        value = float(value)
        out[str(code)] = value * 10_000.0 if value == value else None
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
