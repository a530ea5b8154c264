# train.py — trains the walkthrough's model at image build time, with the image's own
# python3 and scikit-learn: a logistic regression on the iris data set that ships with
# scikit-learn, saved as model.joblib next to app.py (which loads it by that name).
import joblib
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

X, y = load_iris(return_X_y=True)
model = LogisticRegression(max_iter=1000).fit(X, y)
assert model.predict([[5.1, 3.5, 1.4, 0.2]]).tolist() == [0], "setosa"
print("trained: accuracy %.3f on the training set" % model.score(X, y))
joblib.dump(model, "model.joblib")
