"""TF-IDF + linear baselines (scikit-learn).

Features: word n-grams over *segmented* text (``Việt_Nam`` is one token) plus
character n-grams (``char_wb``) of the same text. Themes: one-vs-rest binary
classifiers; tone: one multinomial classifier. ``classifier="logreg"`` gives
calibrated-ish probabilities; ``"linearsvc"`` maps decision values through a
logistic (themes) or softmax (tone) so both share the :class:`Scores` contract.
Per-label theme thresholds are tuned on out-of-fold scores from article-grouped
cross-validation inside the training data. The label set is the ``schema`` given to ``fit``.

``LinearSVC`` receives ``C * svm_c_scale`` (default ``0.125``): hinge-loss SVMs need a weaker
penalty than the logistic regressions on these TF-IDF features, so one ``C`` serves both
classifiers; ``C`` and ``svm_c_scale`` together are the SVM's regularisation.

Saved with ``skops`` and loaded with an explicit list of trusted types: a model
file holding any other type is refused instead of executed.
"""
from __future__ import annotations

import contextlib
import json
import warnings
from pathlib import Path

import numpy as np

from vistance.errors import ModelError
from vistance.labels.schema import LabelSchema
from vistance.models.base import ModelBase, Scores, fit_schema, label_arrays
from vistance.models.folder import listed_bytes, listed_json, manifest_schema, read_manifest, write_manifest
from vistance.models.thresholds import tune_thresholds_out_of_fold
from vistance.text.segment import check_segmenter, get_segmenter, segment_text

TRUSTED_TYPES = {
    "builtins.dict", "builtins.list", "builtins.tuple", "builtins.str", "builtins.int", "builtins.float",
    "numpy.ndarray", "numpy.dtype", "numpy.float64", "numpy.int64", "numpy.int32", "numpy.bool_",
    "scipy.sparse._csr.csr_matrix",
    "sklearn.feature_extraction.text.TfidfVectorizer", "sklearn.feature_extraction.text.TfidfTransformer",
    "sklearn.pipeline.FeatureUnion",
    "sklearn.linear_model._logistic.LogisticRegression", "sklearn.svm._classes.LinearSVC",
    "sklearn.multiclass.OneVsRestClassifier", "sklearn.multiclass._ConstantPredictor",
    "sklearn.preprocessing._label.LabelBinarizer",
}


MAX_SKOPS_SCHEMA_BYTES = 64 * 1024 * 1024


def skops_types(path, data: bytes | None = None) -> set[str]:
    """Every ``module.Class`` named in a skops file's schema (not only those skops itself distrusts).

    ``data``: the file's bytes (already read and verified); ``path`` then only names it in errors.
    """
    import io
    import zipfile

    try:
        with zipfile.ZipFile(io.BytesIO(data) if data is not None else path) as z:
            if z.getinfo("schema.json").file_size > MAX_SKOPS_SCHEMA_BYTES:
                raise ModelError(f"{path}: its schema.json inflates past {MAX_SKOPS_SCHEMA_BYTES} bytes")
            schema = json.loads(z.read("schema.json"))
    except (zipfile.BadZipFile, KeyError, ValueError, RecursionError, OSError) as e:
        raise ModelError(f"{path}: not a readable skops file ({e})") from None
    found: set[str] = set()
    stack = [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if "__class__" in node and "__module__" in node:
                found.add(f"{node['__module__']}.{node['__class__']}")
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return found


class _CharNgramCounter:
    """Counts of a fitted ``char_wb`` :class:`TfidfVectorizer`'s vocabulary n-grams, with each distinct
    word's n-grams looked up once (words repeat across paragraphs); the same counts as
    ``CountVectorizer._count_vocab``, several times faster."""

    def __init__(self, vec):
        self.vec = vec
        self.preprocess = vec.build_preprocessor()
        self.vocabulary = vec.vocabulary_
        self.words: dict[str, np.ndarray] = {}

    def _word(self, word: str) -> np.ndarray:
        ids = self.words.get(word)
        if ids is None:
            voc = self.vocabulary
            ids = np.array([voc[g] for g in self.vec._char_wb_ngrams(word) if g in voc], dtype=np.int64)
            if len(self.words) < 500_000:
                self.words[word] = ids
        return ids

    def counts(self, docs):
        import scipy.sparse as sp

        indptr, indices, values = [0], [], []
        for doc in docs:
            text = self.vec._white_spaces.sub(" ", self.preprocess(self.vec.decode(doc)))
            parts = [self._word(w) for w in text.split()]
            ids = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
            uniq, cnt = np.unique(ids, return_counts=True)
            indices.append(uniq)
            values.append(cnt)
            indptr.append(indptr[-1] + len(uniq))
        X = sp.csr_matrix((np.concatenate(values).astype(np.intc) if values else np.zeros(0, np.intc),
                           np.concatenate(indices).astype(np.int32) if indices else np.zeros(0, np.int32),
                           np.asarray(indptr, dtype=np.int32)),
                          shape=(len(indptr) - 1, len(self.vocabulary)), dtype=self.vec.dtype)
        X.sort_indices()
        return X


def _plain_char_wb(vec) -> bool:
    """A fitted char_wb TF-IDF vectorizer with no options that the fast counter does not reproduce."""
    return (getattr(vec, "analyzer", None) == "char_wb" and hasattr(vec, "vocabulary_") and not vec.binary
            and vec.preprocessor is None and vec.strip_accents is None and vec.input == "content")


def transform_features(vec, seg_texts, counters: dict | None = None):
    """``vec.transform(seg_texts)`` for the model's ``FeatureUnion`` (word + char_wb TF-IDF), with the
    character n-grams counted by :class:`_CharNgramCounter`; bit-identical to ``vec.transform``
    (tested), which is used for any other vectorizer. ``counters`` (a dict the caller keeps
    with the fitted vectorizer) lets the per-word cache live across calls."""
    import scipy.sparse as sp

    parts = getattr(vec, "transformer_list", None)
    if not parts or getattr(vec, "transformer_weights", None) or not all(hasattr(v, "_tfidf") for _, v in parts):
        return vec.transform(seg_texts)
    seg_texts = list(seg_texts)
    blocks = []
    for _name, v in parts:
        if _plain_char_wb(v):
            counter = (counters or {}).get(_name)
            if counter is None or counter.vec is not v or counter.vocabulary is not v.vocabulary_:
                counter = _CharNgramCounter(v)
                if counters is not None:
                    counters[_name] = counter
            blocks.append(v._tfidf.transform(counter.counts(seg_texts), copy=False))
        else:
            blocks.append(v.transform(seg_texts))
    return sp.hstack(blocks).tocsr()


class TfidfModel(ModelBase):
    """TF-IDF features + linear classifiers for themes (one-vs-rest) and tone.

    Parameters
    ----------
    classifier : {"logreg", "linearsvc"}, default "logreg"
    segmenter : str, default "pyvi"
        Word segmenter applied before the word n-grams (recorded; prediction must use the same).
    word_ngram_max, use_char, char_ngram_min, char_ngram_max, min_df, max_features : the features.
    C : float, default 4.0
        Inverse regularisation of the logistic regressions.
    svm_c_scale : float, default 0.125
        ``classifier="linearsvc"`` only: ``LinearSVC`` gets ``C * svm_c_scale``.
    class_weight : "balanced" or None
    tune_thresholds : bool, default True
        Per-theme thresholds from article-grouped ``cv_folds``-fold out-of-fold scores.
    seed : int
    """

    kind = "tfidf"
    baseline = True
    needs_segmentation = True
    can_explain = True
    fork_safe = True
    library_name = "sklearn"
    card_text = ("TF-IDF features (word n-grams over word-segmented text plus character n-grams) with linear "
                 "classifiers (one-vs-rest for themes, multinomial for tone; a LinearSVC's penalty is "
                 "`C * svm_c_scale`), scikit-learn")

    def __init__(self, classifier: str = "logreg", segmenter: str = "pyvi", word_ngram_max: int = 2,
                 use_char: bool = True, char_ngram_min: int = 2, char_ngram_max: int = 5, min_df: int = 1,
                 max_features: int | None = 200_000, C: float = 4.0, class_weight: str | None = "balanced",
                 tune_thresholds: bool = True, cv_folds: int = 3, seed: int = 0, svm_c_scale: float = 0.125):
        self._keep_params(locals())

    # -- building blocks ---------------------------------------------------------------
    def _vectorizer(self):
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.pipeline import FeatureUnion

        parts = [("word", TfidfVectorizer(analyzer="word", token_pattern=r"(?u)\b\w+\b",
                                          ngram_range=(1, self.word_ngram_max), sublinear_tf=True,
                                          min_df=self.min_df, max_features=self.max_features, dtype=np.float64))]
        if self.use_char:
            parts.append(("char", TfidfVectorizer(analyzer="char_wb", ngram_range=(self.char_ngram_min, self.char_ngram_max),
                                                  sublinear_tf=True, min_df=self.min_df,
                                                  max_features=self.max_features, dtype=np.float64)))
        return FeatureUnion(parts)

    def _binary(self):
        from sklearn.linear_model import LogisticRegression
        from sklearn.svm import LinearSVC

        if self.classifier == "logreg":
            return LogisticRegression(C=self.C, class_weight=self.class_weight, solver="liblinear",
                                      max_iter=2000, random_state=self.seed)
        if self.classifier == "linearsvc":
            return LinearSVC(C=self.C * self.svm_c_scale, class_weight=self.class_weight, max_iter=5000,
                             random_state=self.seed)
        raise ModelError(f"unknown classifier {self.classifier!r}; use 'logreg' or 'linearsvc'")

    def _multiclass(self):
        from sklearn.linear_model import LogisticRegression
        from sklearn.svm import LinearSVC

        if self.classifier == "logreg":
            return LogisticRegression(C=self.C, class_weight=self.class_weight, max_iter=3000, random_state=self.seed)
        return LinearSVC(C=self.C * self.svm_c_scale, class_weight=self.class_weight, max_iter=5000,
                         random_state=self.seed)

    def segment(self, texts) -> list[str]:
        seg = get_segmenter(self.segmenter)   # an unknown name fails here, before any text
        if getattr(self, "_uncached", False):
            return [seg.segment(t) for t in texts]
        return [segment_text(self.segmenter, t) for t in texts]

    @contextlib.contextmanager
    def uncached(self):
        """Every text segmented anew (the remembered segmentations of :func:`segment_text` unread)."""
        self._uncached = True
        try:
            yield self
        finally:
            self._uncached = False

    def _fit_segmented(self, seg_texts, Y, y):
        from sklearn.multiclass import OneVsRestClassifier

        vec = self._vectorizer()
        X = vec.fit_transform(seg_texts)
        for _name, v in vec.transformer_list:
            if hasattr(v, "stop_words_"):
                del v.stop_words_  # only kept for introspection; large and slow to save
        with warnings.catch_warnings():
            # a theme absent from a threshold-tuning fold gets a constant predictor; that is intended
            warnings.filterwarnings("ignore", message="Label not .* is present in all training examples")
            theme_clf = OneVsRestClassifier(self._binary()).fit(X, Y)
        if len(set(y.tolist())) < 2:
            raise ModelError("tone needs at least two classes in the training data")
        tone_clf = self._multiclass().fit(X, y)
        return vec, theme_clf, tone_clf

    def _scores(self, vec, theme_clf, tone_clf, seg_texts, counters: dict | None = None):
        X = transform_features(vec, seg_texts, counters)
        if self.classifier == "logreg":
            th = theme_clf.predict_proba(X)
            tp = tone_clf.predict_proba(X)
        else:
            th = 1.0 / (1.0 + np.exp(-2.0 * np.asarray(theme_clf.decision_function(X)).reshape(X.shape[0], -1)))
            d = np.asarray(tone_clf.decision_function(X)).reshape(X.shape[0], -1)
            e = np.exp(2.0 * (d - d.max(axis=1, keepdims=True)))
            tp = e / e.sum(axis=1, keepdims=True)
        # tone classes seen in training may be a subset of the schema's tones
        tone = np.zeros((X.shape[0], len(self.schema.tones)))
        tone[:, [int(c) for c in tone_clf.classes_]] = tp
        return np.asarray(th, dtype=float), tone

    # -- the protocol -----------------------------------------------------------------
    def fit(self, texts, themes, tones, groups=None, valid=None, *, schema: LabelSchema | None = None):
        """Fit on raw ``texts`` with theme lists and tone names of ``schema``'s label set; ``groups``
        (article ids) keep threshold-tuning folds article-grouped."""
        self.schema_ = fit_schema(schema)
        Y, y = label_arrays(self.schema_, themes, tones)
        seg = self.segment(texts)
        self.thresholds_ = np.full(len(self.schema_.themes), 0.5)
        if self.tune_thresholds:
            def fit_score(tr, te):
                if len(set(y[tr].tolist())) < 2:  # tone needs two classes: skip the fold
                    return None
                parts = self._fit_segmented([seg[i] for i in tr], Y[tr], y[tr])
                return self._scores(*parts, [seg[i] for i in te])[0]

            self.thresholds_ = tune_thresholds_out_of_fold(fit_score, Y, groups, k=self.cv_folds, seed=self.seed)
        self.vectorizer_, self.theme_clf_, self.tone_clf_ = self._fit_segmented(seg, Y, y)
        self._counters = None
        self.n_features_ = len(self.vectorizer_.get_feature_names_out())
        return self

    def predict_proba(self, texts, batch_size: int | None = None, segmented: list[str] | None = None) -> Scores:
        seg = segmented if segmented is not None else self.segment(texts)
        if getattr(self, "_counters", None) is None:
            self._counters = {}  # per-word n-gram cache of this fitted vectorizer (never saved)
        th, tone = self._scores(self.vectorizer_, self.theme_clf_, self.tone_clf_, seg, self._counters)
        return Scores(th, tone, self.thresholds_, self.schema)

    # -- explanations -----------------------------------------------------------------
    def top_features(self, k: int = 15) -> dict:
        """Highest-weighted n-grams per theme and per tone class."""
        names = self.vectorizer_.get_feature_names_out()
        out = {"themes": {}, "tone": {}}
        theme_names, tone_names = self.schema.theme_names, self.schema.tone_names
        for j, t in enumerate(theme_names):
            est = self.theme_clf_.estimators_[j]
            if hasattr(est, "coef_"):
                w = np.asarray(est.coef_).ravel()
                out["themes"][t] = [str(names[i]) for i in np.argsort(-w)[:k]]
        coef = np.asarray(self.tone_clf_.coef_)
        for row, c in enumerate(self.tone_clf_.classes_):
            w = coef[row] if coef.shape[0] > 1 else (coef[0] if row == 1 else -coef[0])
            out["tone"][tone_names[int(c)]] = [str(names[i]) for i in np.argsort(-w)[:k]]
        return out

    def explain(self, text: str, k: int = 5) -> dict:
        """Top contributing n-grams (feature value x weight) for the predicted labels of ``text``."""
        names = self.vectorizer_.get_feature_names_out()
        X = self.vectorizer_.transform(self.segment([text])).tocsr()
        idx, vals = X.indices, X.data
        sc = self.predict_proba([text])
        out = {"themes": {}, "tone": {}}
        for t in sc.theme_labels()[0]:
            est = self.theme_clf_.estimators_[self.schema.theme_names.index(t)]
            if hasattr(est, "coef_"):
                contrib = vals * np.asarray(est.coef_).ravel()[idx]
                out["themes"][t] = [[str(names[idx[i]]), round(float(contrib[i]), 4)] for i in np.argsort(-contrib)[:k]]
        tone = sc.tone_labels()[0]
        classes = [int(c) for c in self.tone_clf_.classes_]
        coef = np.asarray(self.tone_clf_.coef_)
        ti = self.schema.tone_names.index(tone)
        if ti in classes:
            row = classes.index(ti)
            w = coef[row] if coef.shape[0] > 1 else (coef[0] if row == 1 else -coef[0])
            contrib = vals * w[idx]
            out["tone"][tone] = [[str(names[idx[i]]), round(float(contrib[i]), 4)] for i in np.argsort(-contrib)[:k]]
        return out

    # -- persistence ------------------------------------------------------------------
    def save(self, folder) -> None:
        import skops.io as sio

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        # vocabularies go to plain JSON: skops stores large dicts slowly and verbosely
        vocabs = {name: {k: int(v) for k, v in vec.vocabulary_.items()} for name, vec in self.vectorizer_.transformer_list}
        for _name, vec in self.vectorizer_.transformer_list:
            del vec.vocabulary_
        try:
            sio.dump({"vectorizer": self.vectorizer_, "themes": self.theme_clf_, "tone": self.tone_clf_},
                     folder / "model.skops")
        finally:
            for name, vec in self.vectorizer_.transformer_list:
                vec.vocabulary_ = vocabs[name]
        (folder / "vocabulary.json").write_text(json.dumps(vocabs, ensure_ascii=False, sort_keys=True), encoding="utf-8")
        (folder / "tfidf.json").write_text(json.dumps({
            "params": self.get_params(), "thresholds": [float(x) for x in self.thresholds_],
            "n_features": int(self.n_features_)}, indent=2, sort_keys=True), encoding="utf-8")
        write_manifest(folder, self.kind, segmenter=self.segmenter, params=self.get_params(), schema=self.schema)

    @classmethod
    def load(cls, folder, segmenter: str | None = None) -> "TfidfModel":
        import skops.io as sio

        folder = Path(folder)
        manifest = read_manifest(folder)
        # only files the manifest lists, each read once and checked against its checksum
        meta = listed_json(folder, manifest, "tfidf.json")
        blob = listed_bytes(folder, manifest, "model.skops")
        present = skops_types(folder / "model.skops", blob)
        try:
            untrusted = set(sio.get_untrusted_types(data=blob))
        except Exception as e:  # noqa: BLE001 - any failure to read the schema is a broken file
            raise ModelError(f"{folder / 'model.skops'}: not a readable skops file ({type(e).__name__})") from None
        unknown = sorted((present | untrusted) - TRUSTED_TYPES)
        if unknown:
            raise ModelError(f"{folder}: model.skops contains types outside vistance's trusted list: {unknown}")
        parts = sio.loads(blob, trusted=sorted(untrusted))
        del blob
        vocabs = listed_json(folder, manifest, "vocabulary.json")
        try:
            m = cls(**meta["params"])
            m.schema_ = manifest_schema(manifest, folder)
            m.vectorizer_, m.theme_clf_, m.tone_clf_ = parts["vectorizer"], parts["themes"], parts["tone"]
            m._counters = None
            for name, vec in m.vectorizer_.transformer_list:
                if not isinstance(vocabs, dict) or name not in vocabs or not isinstance(vocabs[name], dict):
                    raise ModelError(f"{folder}: vocabulary.json lacks the {name!r} vocabulary")
                vec.vocabulary_ = {str(k): int(v) for k, v in vocabs[name].items()}
            m.thresholds_ = np.array(meta["thresholds"], dtype=float).reshape(len(m.schema_.themes))
            m.n_features_ = int(meta["n_features"])
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            raise ModelError(f"{folder}: unreadable TF-IDF model ({type(e).__name__}: {e})") from None
        if segmenter is not None:
            check_segmenter(manifest.get("segmenter"), segmenter)
        return m
