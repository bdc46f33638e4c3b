"""Export a chosen architecture: native `arch.json` + provenance, Hugging Face `config.json` and
weights, and the dense and MoE family scaled from it."""

from star_search.export.exporter import ExportResult, export_preset, export_spec, write_spec
from star_search.export.family import FamilyMember, FamilyRules, family_table, scale_family
from star_search.export.hf_config import to_hf_config, write_hf_config
from star_search.export.native import write_native

__all__ = ["ExportResult", "FamilyMember", "FamilyRules", "export_preset", "export_spec", "family_table",
           "scale_family", "to_hf_config", "write_hf_config", "write_native", "write_spec"]
