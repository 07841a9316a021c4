"""Telco churn: rank customers by their risk of leaving.

The grader calls train(df) once with the training data and predict(model, X) once with the
held-out customers. Return one probability of churn per row of X, in order.
"""

from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

# TODO: the numeric columns alone give the baseline. Add the text columns (contract,
# internet_service, payment_method, the add-on services) with a OneHotEncoder.
FEATURES = ["tenure", "monthly_charges", "total_charges"]


def train(df):
    y = df["churn"] == "Yes"
    # TODO: try a tree ensemble such as HistGradientBoostingClassifier, and compare models
    # with cross_val_score(..., scoring="roc_auc") before you submit.
    model = make_pipeline(SimpleImputer(), StandardScaler(), LogisticRegression(max_iter=1000))
    return model.fit(df[FEATURES], y)


def predict(model, X):
    return model.predict_proba(X[FEATURES])[:, 1]


if __name__ == "__main__":
    # Not run by the grader: try your model on the training file you downloaded.
    import pandas as pd
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import train_test_split

    data = pd.read_csv("telco-churn-train.csv")
    fit_part, check_part = train_test_split(data, test_size=0.25, random_state=0,
                                            stratify=data["churn"])
    model = train(fit_part)
    scores = predict(model, check_part.drop(columns=["churn"]))
    print("ROC AUC on my own check split:", roc_auc_score(check_part["churn"] == "Yes", scores))
