"""Grading a class: many submissions, each judged by the conformance suite in
a sandbox of its own (``refcnn grade``; see docs/grading.md).

* :mod:`.submissions`: what is graded (files, package folders, notebooks,
  folders and zip archives of them), and each one's id;
* :mod:`.judge`: one submission judged: the suite's session as the grader,
  the submission's code in its worker (:mod:`conformance.judging.boundary`: sandbox,
  limits, its own user id, no forbidden module), within its budget, and how
  it ended; the preflight;
* :mod:`.rubric`: scores from verdict cells, weights and visibility;
* :mod:`.outputs`: the grades file, each submission's files, the class page,
  the autograder's results;
* :mod:`.command`: ``refcnn grade``: many at once, on local cores or a Dask
  cluster, resumable.
"""
