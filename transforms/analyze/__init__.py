"""transforms.analyze: what an article is about and which rules it sets off -- ``Article`` in, ``Alert`` out.

* ``rules``: compiling a configuration -- every topic and rule query parsed once, topic references checked.
* ``boilerplate`` (its table ``boilerplate_rules``, its finders ``boilerplate_inline``): the clean text the
  queries see -- boilerplate, URLs and markup residue masked with spaces, offsets kept.
* ``tag``: ``Tagger`` / ``tag_item`` -- the taxonomy's queries over the clean text; the ids that match
  become the article's topics.
* ``match``: ``RuleMatcher`` / ``match_item`` -- every enabled rule over the tagged article; a match is an
  ``Alert`` with its evidence.
* ``relevance``: the score of a topic's or a rule's evidence (``Alert.score``, ``topic_scores``).

The queries themselves are ``transforms.query``. Nothing here imports Beam: the stages over ``tag_item`` and
``match_item`` -- the per-item boundaries (an exception becomes that item's dead letter) -- are ``TagTopics``
and ``MatchRules`` in ``transforms.stages``; ``newswatch explain`` and ``hits`` call the same functions.
"""
