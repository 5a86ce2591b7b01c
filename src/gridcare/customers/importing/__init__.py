"""Bulk import of the grid topology and the customer archive from a utility's CSV/XLSX exports.

Plain functions, so the CLI commands and a future upload page call the same code::

    result = import_topology(path_or_file, update=False, dry_run=False, actor=user)
    result = import_customers(path_or_file, ...)
    if not result.ok:
        for error in result.errors: ...   # RowError(row, column, value, message)

Every row is checked first; a file with any error writes nothing. The formats are described in
docs/customers.md.
"""

from .customers import import_customers
from .reading import FileUnreadable
from .results import ImportResult, RowError
from .topology import import_topology

__all__ = ["FileUnreadable", "ImportResult", "RowError", "import_customers", "import_topology"]
