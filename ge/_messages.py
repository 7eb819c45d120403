"""The exact texts of the errors CANN's own Python package raises, written once.

Code written for CANN's package may match these texts (``pytest.raises(...,
match=...)``, logs), so the package raises them word for word, capitals and
underscores included, wherever CANN raises them. Every module that raises one
imports it from here; nothing else belongs in this module (the package's own
messages stay with the code that raises them). Pure data: it imports nothing.
"""

from __future__ import annotations

# -- ge.session (CANN's session.py) -------------------------------------------------

SESSION_OPTIONS = "option must be a dictionary"
"""``Session(options)`` with options that are not a dict of str to str."""
GRAPH_OPTIONS = "options must be a dictionary"
"""``add_graph``/``load_graph`` options that are not a dict of str to str."""
GRAPH_ID = "Graph_id must be an integer"
ADD_GRAPH = "Add_graph must be a Graph"
INPUTS_LIST = "inputs must be a list of Tensor"
INPUTS_TENSORS = "All elements in inputs must be the type of Tensor"
RUN_STREAM = "Stream must be an integer"
"""A stream argument of ``run_graph_with_stream_async`` and ``load_graph``."""
ALLOCATOR_STREAM = "stream must be an integer"
"""A stream argument of ``register_external_allocator``/``unregister_external_allocator``."""
ALLOCATOR = "allocator must be an Allocator instance"
SESSION_ID = "session_id must be an integer"

# -- ge.ge_global (CANN's ge_global.py) ----------------------------------------------

GE_INIT_CONFIG = "Ge init config must be a dictionary"
GE_INIT_CONFIG_EMPTY = "Ge init config must not be empty"

# -- ge.graph (CANN's graph.py and tensor.py) ---------------------------------------

GRAPH_NAME = "Graph name must be a string"
"""``Graph(name)`` and ``GraphBuilder(name)`` with a name that is not a str."""
DUMP_FORMAT = "Format must be in [DumpFormat.kOnnx, DumpFormat.kTxt, DumpFormat.kReadable]"
TENSOR_DATA_OR_FILE = "Tensor should be created either by data or by file"
TENSOR_DATA = "data should be List"
"""``Tensor(data)`` with data that is not a list (this package also takes numbers and arrays)."""
TENSOR_PLACEMENT = "Placement must be a Placement"
TENSOR_DATA_TYPE = "Data_type must be a DataType"
"""``Tensor.set_data_type`` (and this package's ``Tensor(data_type=...)``)."""
DESC_DATA_TYPE = "Data type must be a DataType"
"""``TensorDesc(data_type=...)`` and ``TensorDesc.set_data_type``."""
FORMAT = "Format must be a Format"
"""The format of a ``Tensor`` or a ``TensorDesc``."""
TO_DEVICE = "to_device() only supports host tensors"
TO_HOST = "to_host() only supports device tensors"

# -- ge.es (CANN's graph_builder.py, tensor_holder.py and tensor_like.py) -----------

INPUT_INDEX = "Input index must be an integer"
INPUT_COUNT = "Number of inputs must be a positive integer"
START_INDEX = "Start index must be a non-negative integer"
SHAPE = "Shape must be a list of integers"
OUTPUT_TENSOR = "Tensor must be a TensorHolder"
OUTPUT_INDEX = "Output index must be an integer"
OUTPUTS_LIST = "Outputs must be a list"
OUTPUTS_HOLDERS = "All outputs must be TensorHolder objects"
ATTR_NAME = "Attribute name must be a string"
VALUE_INT = "Value must be an integer"
VALUE_STRING = "Value must be a string"
VALUE_BOOL = "Value must be a boolean"
VALUE_NUMBER = "Value must be a number"
VARIABLE_NAME = "Name must be a string"
CONTROL_DST = "dst_tensor must be a TensorHolder"
CONTROL_SRC_LIST = "src_tensors must be a list"
CONTROL_SRC_HOLDERS = "src_tensors must be a list of TensorHolder"
HOLDER_DIRECT = "TensorHolder objects should not be created directly"
OPERAND = "Value must be TensorHolder or int|float or nested lists of int|float or None"
HOLDER_DATA_TYPE = "Data type must be a DataType enum"
HOLDER_FORMAT = "Format must be a Format enum"
BUILT = (
    "Cannot {operation}: GraphBuilder has already been built. "
    "Create a new GraphBuilder to build another graph."
)
"""Any use of a ``GraphBuilder`` (or its holders) after ``build_and_reset``."""
NESTED_LIST = "Value must be int|float or nested lists of int|float"
IRREGULAR_LIST = "Irregular nested list: all sub-lists must have the same shape"
