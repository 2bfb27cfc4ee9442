"""The live lab: real sockets on this machine, the kernel's TCP states next to the model's."""

from .kernel import Diag, KernelSocket, explain_proc_line, proc_net_tcp
from .lab import Capabilities, Lab, LoopbackLab, NamespaceLab, capabilities, open_lab
from .netns import LabError, cleanup_stale, list_lab_namespaces
