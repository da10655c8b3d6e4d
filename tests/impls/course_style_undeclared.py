"""The course's cache-function layers as a learner hands them in, judged on
max pooling: one real bug (the backward assigns each window's gradient with
``=``, so where windows overlap a later one overwrites an earlier one) and,
not declared, the two factors the style does not take (tuple parameters, and
padding in pooling). Three causes, whatever the number of cells they fail."""

from tests.impls.broken.cache_functions_max_pool_assigned import *  # noqa: F403

del CONFORMANCE_UNSUPPORTED  # noqa: F821 - the learner declares nothing
