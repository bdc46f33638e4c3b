"""Export a chosen architecture: native `arch.json` + provenance, Hugging Face `config.json`."""

from star_search.export.exporter import ExportResult, export_trial
from star_search.export.hf_config import to_hf_config, write_hf_config
from star_search.export.native import provenance_for, write_native

__all__ = ["ExportResult", "export_trial", "provenance_for", "to_hf_config", "write_hf_config",
           "write_native"]
