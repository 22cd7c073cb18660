# The same worker through mpwire_child (a multiprocessing Connection on MPWIRE_FD, pickle).
import mpwire_child


def echo(x):
    return x


mpwire_child.serve({'echo': echo})
