"""Turn the ABCD agent guidelines and sample conversations into files for `caredesk kb eval`.

    python bench/abcd_eval_files.py ABCD_DIR OUT_DIR

Each of the 55 subflows of `guidelines.json` (e.g. "Return Due to Size") is one article:
its flow's description, its instructions and the text of its actions. Each conversation of
`abcd_sample.json` is one query, the customer's side of it; the article it should find is
the subflow the conversation was labelled with (`scenario.subflow`, a numbered variant such
as `timing_4` being its subflow `timing`). Writes OUT_DIR/docs.jsonl, queries.jsonl and
qrels.tsv.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path
from typing import Any


def _flow_key(name: str) -> str:
    return re.sub(r"[^a-z]+", "_", name.lower()).strip("_")


def documents(guidelines: dict[str, Any], ontology: dict[str, Any]) -> list[dict[str, str]]:
    """One article per subflow, keyed by the ontology's subflow name; the guidelines list a
    flow's subflows in the ontology's order (checked by count)."""
    keys: dict[str, list[str]] = ontology["intents"]["subflows"]
    docs = []
    for flow, content in guidelines.items():
        flow_key = _flow_key(flow)
        subflows = list(content["subflows"].items())
        # "Single-Item Query" lists its products (jeans, boots, ...) under no ontology flow.
        names = keys.get(flow_key) or [_flow_key(title) for title, _ in subflows]
        if len(names) != len(subflows):
            raise SystemExit(f"{flow}: {len(subflows)} subflows, the ontology names {len(names)}")
        for key, (title, subflow) in zip(names, subflows, strict=True):
            parts = [content.get("description", ""), *subflow.get("instructions", [])]
            for action in subflow.get("actions", []):
                parts.append(action.get("text", ""))
                parts.extend(action.get("subtext", []))
            body = "\n".join(p for p in parts if p)
            docs.append({"id": key, "title": f"{flow}: {title}", "text": body})
    return docs


def queries(sample: list[dict[str, Any]]) -> tuple[list[dict[str, str]], list[tuple[str, str]]]:
    found, labels = [], []
    for conversation in sample:
        said = [text for speaker, text in conversation["original"] if speaker == "customer"]
        query_id = str(conversation["convo_id"])
        found.append({"id": query_id, "text": " ".join(said)})
        subflow = re.sub(r"_\d+$", "", conversation["scenario"]["subflow"])
        labels.append((query_id, subflow))
    return found, labels


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("abcd", type=Path)
    parser.add_argument("out", type=Path)
    args = parser.parse_args()
    guidelines = json.loads((args.abcd / "guidelines.json").read_text())
    ontology = json.loads((args.abcd / "ontology.json").read_text())
    sample = json.loads((args.abcd / "abcd_sample.json").read_text())
    docs = documents(guidelines, ontology)
    found, labels = queries(sample)
    ids = {d["id"] for d in docs}
    missing = [subflow for _, subflow in labels if subflow not in ids]
    if missing:
        raise SystemExit(f"conversations labelled with unknown subflows: {missing}")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "docs.jsonl").write_text("".join(json.dumps(d) + "\n" for d in docs))
    (args.out / "queries.jsonl").write_text("".join(json.dumps(q) + "\n" for q in found))
    rows = "".join(f"{q}\t{d}\t1\n" for q, d in labels)
    (args.out / "qrels.tsv").write_text("query\tdoc\trelevance\n" + rows)
    print(f"{len(docs)} articles, {len(found)} queries written to {args.out}")


if __name__ == "__main__":
    main()
